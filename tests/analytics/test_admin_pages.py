"""The dashboard, its CSV downloads, the not-understood page and its Rasa NLU export, the transcript."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import User
from django.utils.html import escape

from analytics import not_understood
from tests.rasa_side import nlu_examples

DASHBOARD = "/admin/analytics/dashboard/"
NOT_UNDERSTOOD = "/admin/analytics/notunderstood/"
TABLES = [
    "funnel",
    "drop_off",
    "source_utm",
    "source_referrer",
    "source_landing",
    "reps",
    "intents",
    "fallback_days",
]


@pytest.fixture
def admin_client_(client, db):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _html_row(cells) -> str:
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def test_dashboard_shows_the_funnel_and_is_linked_from_the_admin_index(admin_client_, known):
    index = admin_client_.get("/admin/").content.decode()
    assert DASHBOARD in index and NOT_UNDERSTOOD in index
    response = admin_client_.get(DASHBOARD, {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert _html_row(["Conversations started", "6", "–", "100.0%"]) in html
    assert _html_row(["Meeting held", "1", "50.0%", "16.7%"]) in html
    assert _html_row(["use_case", "5", "4", "1", "20.0%"]) in html
    assert "7 min 25 s" in html  # median first message -> booked
    # Chart.js is served from our own static files, never a CDN.
    assert "/static/analytics/vendor/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="analytics-charts"' in html


@pytest.mark.parametrize("table", TABLES)
def test_every_dashboard_table_downloads_as_the_csv_of_what_the_screen_shows(admin_client_, known, table):
    params = {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk}
    page = admin_client_.get(DASHBOARD, params)
    html = page.content.decode()
    # Follow the table's own CSV link, as a user would.
    link = re.search(rf'href="(\?[^"]*export={table})"', html).group(1).replace("&amp;", "&")
    assert f"snapshot={page.context['snapshot'].id}" in link
    response = admin_client_.get(DASHBOARD + link)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, *rows = _csv(response)
    assert rows, f"{table} has rows in the hand-built data"
    assert "".join(f'<th scope="col">{escape(h)}</th>' for h in header) in html
    for row in rows:
        assert _html_row(row) in html


def test_funnel_csv_numbers(admin_client_, known):
    response = admin_client_.get(
        DASHBOARD, {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk, "export": "funnel"}
    )
    rows = _csv(response)
    assert rows[0] == ["Step", "Conversations", "% of previous step", "% of started"]
    assert [r[1] for r in rows[1:]] == ["6", "5", "3", "2", "2", "2", "1"]


def test_not_understood_groups_similar_messages(admin_client_, known):
    response = admin_client_.get(NOT_UNDERSTOOD, {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk})
    assert response.status_code == 200
    groups = {g["normalised"]: g for g in response.context["groups"]}
    # "Is there a FREE trial?" (out_of_scope) and "is there a free trial" (nlu_fallback): one group.
    assert groups["free trial"]["messages"] == 2
    assert sorted(groups["free trial"]["examples"]) == ["Is there a FREE trial?", "is there a free trial"]
    assert groups["asdf"]["messages"] == 1  # "asdf 123 ??"
    assert set(groups) == {"free trial", "asdf"}  # the October message (C7) is out of range


def test_sql_grouping_matches_the_python_definition(admin_client_, known):
    from analytics.selectors import Scope

    scope = Scope(known.c1.started_at.date().replace(day=1), known.c3.started_at.date())
    groups = not_understood.fallback_groups(scope)
    for group in groups:
        assert {not_understood.normalise(text) for text in group["examples"]} == {group["normalised"]}
    assert not_understood.normalise("Do you integrate with HubSpot?!") == "integrate hubspot"
    assert not_understood.normalise("   42 !!! ") == ""


def test_nlu_yaml_export_loads_in_rasa(admin_client_, known):
    response = admin_client_.get(
        NOT_UNDERSTOOD, {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk, "export": "yaml"}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith('version: "3.1"\n')
    assert nlu_examples(text) == {
        ("to_label_001_free_trial", "Is there a FREE trial?"),
        ("to_label_001_free_trial", "is there a free trial"),
        ("to_label_002_asdf", "asdf 123 ??"),
    }


def test_nlu_yaml_keeps_awkward_text_valid():
    groups = [
        {"normalised": "", "messages": 1, "examples": ["#?! : -- 'quoted' \"double\" [x](y) {a: b}"]},
        {"normalised": "été prix", "messages": 2, "examples": ["Été: prix?\nsecond line"]},
    ]
    texts = sorted(text for _, text in nlu_examples(not_understood.nlu_yaml(groups)))
    assert texts == ["#?! : -- 'quoted' \"double\" (x)(y) {a: b}", "Été: prix? second line"]


def test_not_understood_csv_matches_the_table(admin_client_, known):
    params = {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk}
    rows = _csv(admin_client_.get(NOT_UNDERSTOOD, {**params, "export": "csv"}))
    assert rows[0][:3] == ["Normalised text", "Messages", "Variants"]
    assert [r[:3] for r in rows[1:]] == [["free trial", "2", "2"], ["asdf", "1", "1"]]


def test_transcript_renders_turns_in_order_with_intents_and_facts(admin_client_, known):
    response = admin_client_.get(f"/admin/chatbot/conversation/{known.c2.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    order = [
        "Hi! What brings you here?",
        "hello",
        "What would you use it for?",
        "asdf 123 ??",
        "Sorry, what would you use it for?",
        "reporting",
        "How many people work there?",
    ]
    positions = [html.index(escape(text)) for text in order]
    assert positions == sorted(positions)
    assert "intent <strong>nlu_fallback</strong> (0.30)" in html
    assert "intent <strong>inform_use_case</strong> (0.90)" in html
    assert "<li>use_case: reporting</li>" in html  # the fact captured at that step
    assert 'data-sender="visitor"' in html and 'data-sender="bot"' in html
    assert "Incomplete" in html  # the lead's outcome


def test_bad_date_range_falls_back_to_default_without_error(admin_client_, known):
    response = admin_client_.get(DASHBOARD, {"start": "2026-11-09", "end": "2026-11-01"})
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


def test_csv_link_keeps_the_screen_numbers_after_new_chats_and_refresh_shows_them(admin_client_, known):
    from tests.analytics.factories import conversation_at

    params = {"start": "2026-11-01", "end": "2026-11-07", "site": known.site_a.pk}
    page = admin_client_.get(DASHBOARD, params)
    snapshot = page.context["snapshot"].id
    conversation_at(site=known.site_a, started=known.c3.started_at)  # a new chat in the range
    same = _csv(admin_client_.get(DASHBOARD, {**params, "snapshot": snapshot, "export": "funnel"}))
    assert same[1][:2] == ["Conversations started", "6"]  # what the page showed
    refreshed = admin_client_.get(DASHBOARD, {**params, "fresh": "1"})
    assert _html_row(["Conversations started", "7", "–", "100.0%"]) in refreshed.content.decode()
    assert refreshed.context["snapshot"].id != snapshot
    # Without "fresh" the page is served from that recent snapshot.
    again = admin_client_.get(DASHBOARD, params)
    assert again.context["snapshot"].id == refreshed.context["snapshot"].id
