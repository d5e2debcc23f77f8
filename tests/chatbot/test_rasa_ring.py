"""The ring that picks a conversation's Rasa server (chatbot/rasa_ring.py): pure, no servers."""

import uuid
from collections import Counter

import pytest

from chatbot.rasa_ring import RasaRing

SERVERS = [f"http://10.0.0.{i}:5005" for i in range(1, 5)]
KEYS = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(4000)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def assignment(ring: RasaRing) -> dict[str, str]:
    return {key: ring.server_for(key) for key in KEYS}


def test_a_conversation_always_goes_to_the_same_server_and_every_process_agrees():
    first, second = RasaRing(SERVERS, probe_interval=3), RasaRing(list(reversed(SERVERS)), probe_interval=3)
    assert assignment(first) == assignment(first) == assignment(second)


def test_conversations_spread_over_every_server():
    counts = Counter(assignment(RasaRing(SERVERS, probe_interval=3)).values())
    assert set(counts) == set(SERVERS)
    assert min(counts.values()) > len(KEYS) / len(SERVERS) / 2


def test_a_server_leaving_moves_only_its_own_conversations():
    ring = RasaRing(SERVERS, probe_interval=3)
    before = assignment(ring)
    ring.mark_down(SERVERS[1])
    after = assignment(ring)

    moved = {key for key in KEYS if before[key] != after[key]}
    assert moved == {key for key in KEYS if before[key] == SERVERS[1]}
    assert SERVERS[1] not in after.values()
    # ...and they spread over the others instead of all landing on one neighbour.
    assert len({after[key] for key in moved}) == len(SERVERS) - 1


def test_a_server_joining_takes_about_its_share_and_nothing_moves_between_the_others():
    three = assignment(RasaRing(SERVERS[:3], probe_interval=3))
    four = assignment(RasaRing(SERVERS, probe_interval=3))

    moved = [key for key in KEYS if three[key] != four[key]]
    assert all(four[key] == SERVERS[3] for key in moved)
    assert 0.15 < len(moved) / len(KEYS) < 0.35  # about 1/4, not most of them as with hash % N


def test_a_down_server_is_probed_at_most_every_interval_and_rejoins_when_it_answers():
    clock = Clock()
    ring = RasaRing(SERVERS[:2], probe_interval=3, clock=clock)
    key = next(k for k in KEYS if ring.server_for(k) == SERVERS[0])

    ring.mark_down(SERVERS[0])
    assert list(ring.candidates(key)) == [(SERVERS[1], False)]  # not due yet: skipped, not waited for
    clock.now += 3
    assert list(ring.candidates(key)) == [(SERVERS[0], True), (SERVERS[1], False)]
    assert ring.probe_claim(SERVERS[0]) and not ring.probe_claim(SERVERS[0])  # one turn probes
    assert list(ring.candidates(key)) == [(SERVERS[1], False)]  # the probe failed: 3 s more
    clock.now += 3
    ring.mark_up(SERVERS[0])
    assert ring.server_for(key) == SERVERS[0]  # back to its own server


def test_every_server_down_leaves_no_server():
    ring = RasaRing(SERVERS[:2], probe_interval=3)
    for url in SERVERS[:2]:
        ring.mark_down(url)
    assert ring.server_for(KEYS[0]) is None and ring.healthy() == []


def test_a_ring_needs_a_server_and_ignores_duplicates_and_trailing_slashes():
    with pytest.raises(ValueError):
        RasaRing([], probe_interval=3)
    assert RasaRing([SERVERS[0] + "/", SERVERS[0]], probe_interval=3).urls == (SERVERS[0],)
