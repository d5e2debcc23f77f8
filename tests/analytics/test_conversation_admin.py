"""The conversation list: filters, search, CSV export of exactly what it shows, no N+1 queries."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.text import capfirst

from analytics.admin.conversations import ConversationAdmin
from analytics.demo_data import generate

LIST = "/admin/chatbot/conversation/"
EXPORT = "/admin/chatbot/conversation/export-csv/"


@pytest.fixture
def admin_client_(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def _shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"started_from": "2026-11-01", "started_to": "2026-11-02"}, {"c1", "c2"}),
        (
            {"started_from": "2026-11-01", "started_to": "2026-11-07", "site__id__exact": "A"},
            {"c1", "c2", "c3", "c4", "c5", "c6"},
        ),
        ({"outcome": "qualified"}, {"c1", "c6", "c7", "c8"}),
        ({"outcome": "none"}, {"c3", "c4"}),
        ({"utm_source": "linkedin"}, {"c3", "c8"}),
        ({"utm_campaign": "brand"}, {"c1", "c2", "c6", "c7"}),
        ({"landing": "https://shop.example/demo"}, {"c3", "c4", "c8"}),
        ({"rep": "alice"}, {"c1", "c7"}),
        ({"has_meeting": "yes"}, {"c1", "c6", "c7"}),
        ({"has_meeting": "no", "site__id__exact": "A", "started_from": "2026-11-01"}, {"c2", "c3", "c4", "c5"}),
        ({"q": "acme.example"}, {"c1"}),  # lead email
        ({"q": "Hooli"}, {"c6"}),  # company
        ({"q": "better lead routing"}, {"c5"}),  # message text
    ],
)
def test_filters_and_search(admin_client_, known, params, expected):
    params = dict(params)
    if params.get("site__id__exact") == "A":
        params["site__id__exact"] = known.site_a.pk
    if params.get("rep") == "alice":
        params["rep"] = known.alice.pk
    response = admin_client_.get(LIST, params)
    assert response.status_code == 200
    assert _shown(response) == {getattr(known, name).pk for name in expected}


def test_handoff_filter(admin_client_, known):
    type(known.c4).objects.filter(pk=known.c4.pk).update(handoff_requested=True)
    response = admin_client_.get(LIST, {"handoff_requested__exact": "1"})
    assert _shown(response) == {known.c4.pk}


def test_csv_export_has_the_changelist_columns_and_filtered_rows(admin_client_, known):
    params = {"outcome": "qualified", "site__id__exact": known.site_a.pk, "o": "1"}
    page = admin_client_.get(LIST, params)
    changelist = page.context["cl"]
    rows = _csv(admin_client_.get(EXPORT, params))
    header = [capfirst(str(h["text"])) for h in page.context["result_headers"]][1:]  # as the template shows them
    assert rows[0] == header
    assert rows[0][:6] == ["Started (UTC)", "Site", "Email", "Company", "Outcome", "Score"]
    assert len(rows) - 1 == changelist.result_count == 3  # c1, c6, c7
    by_email = {row[2]: row for row in rows[1:]}
    assert set(by_email) == {"ana@acme.example", "di@hooli.example", ""}
    ana = by_email["ana@acme.example"]
    assert ana[1:8] == [
        "Site A",
        "ana@acme.example",
        "Acme",
        "Qualified",
        "80",
        "google / brand",
        "https://shop.example/pricing",
    ]
    assert ana[8:] == ["3", "Alice", "Held", "no"]  # visitor messages, rep, meeting, handoff
    assert ana[0] == "2026-11-02 10:00 UTC"
    # The same ordering as the screen (started_at ascending with o=1).
    assert [row[2] for row in rows[1:]] == [c.lead.email for c in changelist.result_list]


def test_export_selected_action(admin_client_, known):
    response = admin_client_.post(
        LIST, {"action": "export_selected_csv", "_selected_action": [known.c3.pk, known.c5.pk], "index": 0}
    )
    rows = _csv(response)
    assert len(rows) == 3
    assert {row[2] for row in rows[1:]} == {"", "cy@tiny.example"}


def test_changelist_query_count_does_not_grow_with_rows(admin_client_, db):
    generate(conversations=5, days=5, seed=3, end=_today())
    with CaptureQueriesContext(connection) as few:
        assert admin_client_.get(LIST).status_code == 200
    generate(conversations=60, days=5, seed=4, end=_today())
    with CaptureQueriesContext(connection) as many:
        response = admin_client_.get(LIST)
    assert len(response.context["cl"].result_list) == 50
    assert len(many) == len(few)


def _today():
    import datetime as dt

    return dt.date.today() + dt.timedelta(days=1)


SEARCHES = [
    "acme.example",
    "Hooli",
    "better lead routing",
    "free trial",
    '"free trial"',
    "example hooli",
    "nothing-like-it",
]


@pytest.mark.parametrize("q", SEARCHES)
def test_common_words_checked_conversation_by_conversation_find_the_same(admin_client_, known, monkeypatch, q):
    """At a million conversations a common word is checked per conversation (newest first) rather than
    as one set of matches; both ways find the same conversations."""
    as_sets = admin_client_.get(LIST, {"q": q})
    monkeypatch.setattr(ConversationAdmin, "SEARCH_RARE_ROWS", 0)  # every word that matches is "common"
    per_conversation = admin_client_.get(LIST, {"q": q})
    assert _shown(per_conversation) == _shown(as_sets)
    assert per_conversation.context["cl"].result_count == as_sets.context["cl"].result_count == len(_shown(as_sets))


def test_a_search_for_common_words_stops_counting_at_the_limit(admin_client_, known, monkeypatch):
    everything = _shown(admin_client_.get(LIST, {"q": "example"}))  # every lead's email
    assert len(everything) >= 3
    monkeypatch.setattr(ConversationAdmin, "SEARCH_RARE_ROWS", 0)
    monkeypatch.setattr(ConversationAdmin, "SEARCH_COUNT_LIMIT", 2)
    response = admin_client_.get(LIST, {"q": "example"})
    assert _shown(response) == everything  # the rows are all there; only the count stopped
    html = response.content.decode()
    assert "2+ conversations" in html and "Export CSV (2+ rows)" in html
    assert f"{len(everything)} conversations" not in html
