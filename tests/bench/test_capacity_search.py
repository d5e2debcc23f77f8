"""The paced benchmark's capacity search (bench/chat_load.py) on synthetic latency curves."""

import pytest

from bench.chat_load import capacity_search


def knee(capacity: int):
    """p95 in seconds: 0.2 s up to ``capacity`` visitors, then it grows past the 1 s limit."""
    return lambda visitors: 0.2 if visitors <= capacity else 1.0 + (visitors - capacity) * 0.01


@pytest.mark.parametrize("capacity", [10, 37, 150, 399])
def test_finds_the_largest_count_under_the_limit_within_the_resolution(capacity):
    found, stages = capacity_search(knee(capacity), start=10, max_visitors=1000, limit=1.0, resolution=0.05)
    assert capacity - max(1, int(0.05 * capacity)) <= found <= capacity
    assert all(p95 < 1.0 for visitors, p95 in stages if visitors <= found)
    assert len(stages) == len({visitors for visitors, _ in stages})  # no count measured twice


def test_exact_with_a_resolution_of_one_visitor():
    found, _ = capacity_search(knee(37), start=10, max_visitors=1000, limit=1.0, resolution=0)
    assert found == 37


def test_stops_at_the_cap_when_every_stage_passes():
    found, stages = capacity_search(lambda visitors: 0.1, start=10, max_visitors=60, limit=1.0)
    assert found == 60
    assert [visitors for visitors, _ in stages] == [10, 20, 40, 60]


def test_below_the_first_stage_when_it_fails():
    found, stages = capacity_search(knee(4), start=10, max_visitors=60, limit=1.0)
    assert found == 4
    assert stages[0][0] == 10


def test_zero_when_even_one_visitor_is_too_slow():
    found, stages = capacity_search(lambda visitors: 2.0, start=10, max_visitors=60, limit=1.0)
    assert found == 0
    assert [visitors for visitors, _ in stages] == [10, 5, 2, 1]


def test_a_p95_equal_to_the_limit_fails():
    found, _ = capacity_search(lambda visitors: 1.0 if visitors > 20 else 0.5, start=10, max_visitors=80, limit=1.0)
    assert found == 20


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="start"):
        capacity_search(lambda visitors: 0.1, start=0, max_visitors=10, limit=1.0)
    with pytest.raises(ValueError, match="max_visitors"):
        capacity_search(lambda visitors: 0.1, start=20, max_visitors=10, limit=1.0)
