"""The conversation simulator inside `make test`: a fixed subset of the independent personas
(chatbot/bot/tests/personas.yml) played over the widget's WebSocket against the real web process and
the real Rasa server on the trained model, judged by what the product stored.

`make bot-eval` plays all of them (tests/bot_eval/__main__.py). Transcripts of this subset land in
test-artifacts/bot-eval-e2e/.
"""

import importlib
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.apps import apps as django_apps

from chatbot.management.commands.seed_demo import DEMO_SITE_TERMS
from tests.bot_eval.driver import Endpoint, personas_play
from tests.bot_eval.metrics import artifacts_write, persona_result, report_text, totals
from tests.bot_eval.personas import personas_load, personas_select
from tests.conftest import ARTIFACTS
from tests.factories import TEST_ORIGIN, SiteFactory
from tests.scheduling.factories import SalesRepFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PERSONAS = Path(__file__).resolve().parents[2] / "chatbot/bot/tests/personas.yml"
# One or more of each kind of visitor the issue names; ids from the persona file.
SUBSET = [
    "vp-sales-lumenfield-multifact",  # qualified buyer, four facts in the opener
    "sales-manager-terse",  # qualified buyer, one fact per message
    "nurture-analyst-no-budget",  # nurture
    "job-seeker-sdr",  # job seeker
    "vendor-outbound-agency",  # vendor
    "wants-human-midway-vp",  # asks for a person, then books
    "decliner-size-head-of-sales",  # declines one question, still qualified
    "stopper-early",  # stops
    "off-topic-then-leaves",  # off-topic streak
    "faq-first-pricing-cro",  # asks about pricing first
]
_played: dict = {}


@database_sync_to_async
def product_ready():
    """What `seed_demo` gives the demo: the default rules, two reps with working hours, a site.

    Transactional tests empty the tables afterwards, so the rules of the data migration are added back.
    """
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
    # Addresses of their own: the live web server's mail folder is shared by the session's e2e tests.
    for name, zone in (("Sim Berlin", "Europe/Berlin"), ("Sim New York", "America/New_York")):
        email = f"{name.lower().replace(' ', '-')}@bot-eval.example"
        SalesRepFactory(name=name, email=email, timezone=zone, min_notice_minutes=60)
    return SiteFactory(**DEMO_SITE_TERMS)


async def played(live_servers):
    """The subset played once per test session (both tests read it)."""
    if "results" not in _played:
        personas = personas_select(personas_load(PERSONAS), ids=SUBSET)
        site = await product_ready()
        endpoint = Endpoint(
            ws_url=live_servers.web_url.replace("http", "ws", 1) + "/ws/chat/",
            origin=TEST_ORIGIN,
            site_key=site.embed_key,
            page=f"{TEST_ORIGIN}/pricing",
        )
        transcripts = await personas_play(personas, endpoint, jobs=1)
        results = [persona_result(p, t) for p, t in zip(personas, transcripts, strict=True)]
        total = totals(results)
        artifacts_write(ARTIFACTS / "bot-eval-e2e", transcripts, results, total)
        _played.update(personas=personas, transcripts=transcripts, results=results, total=total)
    return _played


async def test_the_simulator_plays_each_persona_through_the_widget_and_reads_the_stored_lead(live_servers):
    run = await played(live_servers)
    assert len(run["results"]) == len(SUBSET)
    for persona, transcript in zip(run["personas"], run["transcripts"], strict=True):
        assert transcript.errors == [], (persona.id, transcript.errors)
        assert transcript.conversation_id and transcript.greeting, persona.id
        # Every opener message was sent and answered over the WebSocket (or the bot's silence recorded).
        assert [t.visitor for t in transcript.turns[: len(persona.opener)]] == list(persona.opener)
        assert all(t.note == "" for t in transcript.turns), persona.id
        assert {"lead", "meeting_booked", "handoff"} <= set(transcript.final), persona.id
        assert (ARTIFACTS / "bot-eval-e2e" / f"{persona.id}.txt").exists()
    # A conversation that went anywhere stored a lead the metrics judged.
    assert any(t.final["lead"] for t in run["transcripts"])


async def test_simulated_visitors_meet_the_targets_of_issue_11(live_servers):
    run = await played(live_servers)
    assert run["total"].passed, "\n" + report_text(run["results"], run["total"])
