"""Every figure against the hand-built data set in conftest.py (right answers written out here)."""

import datetime as dt

import pytest

from analytics import selectors
from analytics.selectors import Scope


def _by(rows, key):
    return {row[key]: row for row in rows}


def test_funnel_steps_and_rates(scope_a):
    rows = selectors.funnel(scope_a)
    assert [(r["step"], r["count"]) for r in rows] == [
        ("started", 6),  # C1-C6
        ("engaged", 5),  # all but C4 (welcome only)
        ("finished", 3),  # C1, C5, C6 decided; C2 incomplete
        ("qualified", 2),  # C1, C6
        ("offered", 2),  # C1, C6
        ("booked", 2),  # C1 (held), C6 (booked)
        ("held", 1),  # C1
    ]
    rates = [(r["rate_from_previous"], r["rate_from_start"]) for r in rows]
    assert rates == [
        (None, 100.0),
        (83.3, 83.3),
        (60.0, 50.0),
        (66.7, 33.3),
        (100.0, 33.3),
        (100.0, 33.3),
        (50.0, 16.7),
    ]


def test_funnel_scope_excludes_other_dates_and_applies_site(known):
    all_sites = Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 7))
    counts = {r["step"]: r["count"] for r in selectors.funnel(all_sites)}
    # C8 (site B) joins: started, engaged, finished, qualified; C7 (October) never counts.
    assert counts == {"started": 7, "engaged": 6, "finished": 4, "qualified": 3, "offered": 2, "booked": 2, "held": 1}
    october = Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31), known.site_a.pk)
    counts = {r["step"]: r["count"] for r in selectors.funnel(october)}
    assert counts == {"started": 1, "engaged": 1, "finished": 1, "qualified": 1, "offered": 0, "booked": 1, "held": 0}


def test_drop_off_per_question(scope_a):
    rows = selectors.drop_off(scope_a)
    assert rows == [
        # asked in C1, C2, C3, C5, C6; C3 ended on it; C2's fallback reply counts as a reply.
        {"question": "use_case", "asked": 5, "answered": 4, "left": 1, "left_rate": 20.0},
        # asked in C1, C2, C5; C2 ended on it.
        {"question": "company_size", "asked": 3, "answered": 2, "left": 1, "left_rate": 33.3},
    ]


def test_sources_by_utm(scope_a):
    rows = {(r["utm_source"], r["utm_medium"], r["utm_campaign"]): r for r in selectors.by_source(scope_a, "utm")}
    assert set(rows) == {("google", "cpc", "brand"), ("linkedin", "paid_social", "abm"), ("", "", "")}
    google = rows[("google", "cpc", "brand")]  # C1, C2, C6
    assert (google["conversations"], google["qualified"], google["nurture"], google["disqualified"]) == (3, 2, 0, 0)
    assert (google["booked"], google["held"], google["qualified_rate"], google["booked_rate"]) == (2, 1, 66.7, 66.7)
    none = rows[("", "", "")]  # C4, C5
    assert (none["conversations"], none["qualified"], none["disqualified"], none["booked"]) == (2, 0, 1, 0)
    linkedin = rows[("linkedin", "paid_social", "abm")]  # C3
    assert (linkedin["conversations"], linkedin["qualified"], linkedin["booked"]) == (1, 0, 0)


def test_sources_by_referrer_host_and_landing_page(scope_a):
    hosts = {r["referrer_host"]: r["conversations"] for r in selectors.by_source(scope_a, "referrer")}
    assert hosts == {"www.google.com": 3, "www.linkedin.com": 1, "news.ycombinator.com": 1, "": 1}
    pages = _by(selectors.by_source(scope_a, "landing"), "landing_page")
    assert set(pages) == {"https://shop.example/pricing", "https://shop.example/demo"}
    pricing = pages["https://shop.example/pricing"]  # C1, C2, C5, C6 (query strings dropped)
    assert (
        pricing["conversations"],
        pricing["qualified"],
        pricing["disqualified"],
        pricing["booked"],
        pricing["held"],
    ) == (
        4,
        2,
        1,
        2,
        1,
    )
    assert pages["https://shop.example/demo"]["conversations"] == 2  # C3, C4


def test_meetings_per_rep_and_median_time_to_booking(scope_a):
    reps = _by(selectors.meetings_by_rep(scope_a), "rep")
    assert set(reps) == {"Alice", "Bob"}  # Alice's October meeting (C7) is out of scope
    assert (reps["Alice"]["booked"], reps["Alice"]["held"], reps["Alice"]["upcoming"]) == (1, 1, 0)
    assert (reps["Bob"]["booked"], reps["Bob"]["held"], reps["Bob"]["upcoming"]) == (1, 0, 1)
    # C1: first visitor message at +10 s, booked at +600 s -> 590 s; C6: +5 s, +305 s -> 300 s.
    assert reps["Alice"]["median_seconds"] == pytest.approx(590)
    assert reps["Bob"]["median_seconds"] == pytest.approx(300)
    assert selectors.median_time_to_booking(scope_a) == pytest.approx(445)
    assert selectors.format_duration(445) == "7 min 25 s"


def test_intents_and_fallback_rate_per_day(scope_a):
    intents = {r["intent"]: r["messages"] for r in selectors.intents(scope_a)}
    assert intents == {
        "inform_use_case": 4,
        "greet": 2,
        "inform_company_size": 2,
        "nlu_fallback": 2,
        "out_of_scope": 1,
        "describe_need": 1,
    }
    days = [
        (r["day"], r["messages"], r["fallbacks"], r["fallback_rate"]) for r in selectors.fallback_rate_by_day(scope_a)
    ]
    assert days == [
        (dt.date(2026, 11, 2), 6, 1, 16.7),  # C1 (3 visitor messages), C2 (3, one nlu_fallback)
        (dt.date(2026, 11, 3), 6, 2, 33.3),  # C3 (out_of_scope), C5 (3), C6 (2, one nlu_fallback)
    ]
