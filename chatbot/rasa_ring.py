"""Which Rasa server answers a conversation: consistent hashing over the healthy servers.

Every server shares the SQL tracker store and the Redis lock store, so any of them can
take any turn; a conversation still sticks to one server while that server is up, so
turns do not bounce between processes (each keeps its own caches warm) and a server
joining or leaving moves only the conversations whose place on the ring it takes or
gives up (about 1/N of them), never all of them.

The ring (uhashring, md5 points, identical in every web process and worker) holds every
configured server. A conversation's server is the first *healthy* one clockwise from its
key: exactly what a ring of only the healthy servers would answer, without rebuilding a
ring each time one comes or goes. A failed request marks its server down at once; a down
server is asked ``GET /`` again at most every ``probe_interval`` seconds, by the turn
that would have gone to it, and is back in the ring as soon as it answers.

Health is per process: each web process and worker learns on its own, from its own
requests, which costs one failed request per process per outage.
"""

import time
from collections.abc import Callable, Iterator

from uhashring import HashRing


class RasaRing:
    def __init__(self, urls: list[str], *, probe_interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("at least one Rasa server is needed")
        self.urls = tuple(dict.fromkeys(url.rstrip("/") for url in urls))
        self.ring = HashRing(nodes=list(self.urls))
        self.probe_interval = probe_interval
        self.clock = clock
        self._next_probe: dict[str, float] = {}  # down server -> when it may be asked again

    def order(self, key: str) -> list[str]:
        """Every server, in the order a conversation tries them: clockwise from its key."""
        return list(self.ring.iterate_nodes(key))

    def is_up(self, url: str) -> bool:
        return url not in self._next_probe

    def healthy(self) -> list[str]:
        return [url for url in self.urls if self.is_up(url)]

    def server_for(self, key: str) -> str | None:
        """The conversation's server while the ring's health stays as it is (None: all are down)."""
        return next((url for url in self.order(key) if self.is_up(url)), None)

    def candidates(self, key: str) -> Iterator[tuple[str, bool]]:
        """(server, needs a probe first) in the conversation's order, skipping down servers not due a probe.

        A down server that is due is offered in its place on the ring (its conversations go back
        to it as soon as it answers); the caller probes it, claiming the probe with ``probe_claim``.
        """
        for url in self.order(key):
            if self.is_up(url):
                yield url, False
            elif self.clock() >= self._next_probe[url]:
                yield url, True

    def probe_claim(self, url: str) -> bool:
        """Take this probe for the calling turn (False: another turn took it since)."""
        due = self._next_probe.get(url)
        if due is None or self.clock() < due:
            return False
        self._next_probe[url] = self.clock() + self.probe_interval
        return True

    def mark_down(self, url: str) -> None:
        self._next_probe.setdefault(url, self.clock() + self.probe_interval)

    def mark_up(self, url: str) -> None:
        self._next_probe.pop(url, None)
