"""Load benchmark: the web layer (WebSocket consumer) against Rasa's own REST webhook.

Run `make run` in one terminal, then `make bench` (or
`.venv/bin/python bench/chat_load.py --conversations 50`) in another. N concurrent
conversations send the same scripted turns, first through the widget's WebSocket,
then straight to Rasa; the script prints turns/s, p50 and p95 turn latency for
both, the same per turn of the script (the first turn also starts Rasa's session,
which calls our action endpoint) and the web/Rasa ratio. A turn ends when its
first bot frame arrives.
"""

import argparse
import asyncio
import json
import re
import statistics
import time
import urllib.request
import uuid

import aiohttp
import websockets

# (turn index, seconds) per answered turn.
Latencies = list[tuple[int, float]]
TURNS = ["hello", "are you a bot?", "what's the weather like in Paris?", "thanks", "bye"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class StartLine:
    """Holds every conversation until all are open, so turns measure turns, not connection set-up."""

    def __init__(self, count: int) -> None:
        self.count, self.ready, self.go = count, 0, asyncio.Event()

    async def wait(self) -> None:
        self.ready += 1
        if self.ready >= self.count:
            self.go.set()
        await asyncio.wait_for(self.go.wait(), 120)


async def web_conversation(ws_url: str, origin: str, site: str, start: StartLine, latencies: Latencies) -> None:
    async with websockets.connect(ws_url, origin=origin, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": origin}))
        session = json.loads(await ws.recv())
        if session.get("type") != "session":
            raise RuntimeError(f"could not start a conversation: {session}")
        await start.wait()
        for i, text in enumerate(TURNS):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": text, "id": f"b{i}"}))
            while True:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                except asyncio.TimeoutError:
                    # Name the turn: its visitor message and replies can then be looked up in the database.
                    raise RuntimeError(
                        f"no bot frame in 60 s: conversation {session['conversation']}, turn {i + 1} {text!r}"
                    ) from None
                if frame["type"] == "error":
                    raise RuntimeError(f"error frame: {frame}")
                if frame["type"] == "bot":
                    break
            latencies.append((i, time.perf_counter() - started))
            # Let the remaining frames of this turn arrive before the next one.
            await asyncio.sleep(0.05)
            while True:
                try:
                    await asyncio.wait_for(ws.recv(), 0.01)
                except asyncio.TimeoutError:
                    break


async def rasa_conversation(session: aiohttp.ClientSession, rasa_url: str, latencies: Latencies) -> None:
    sender = str(uuid.uuid4())
    for i, text in enumerate(TURNS):
        started = time.perf_counter()
        async with session.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": {"timezone": "UTC"}},
        ) as response:
            response.raise_for_status()
            await response.json()
        latencies.append((i, time.perf_counter() - started))
        await asyncio.sleep(0.05)


def figures(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50": float("nan"), "p95": float("nan")}
    return {"p50": statistics.median(latencies) * 1000, "p95": percentile(latencies, 0.95) * 1000}


async def phase(name: str, runs) -> dict:
    latencies: Latencies = []
    started = time.perf_counter()
    results = await asyncio.gather(*(run(latencies) for run in runs), return_exceptions=True)
    elapsed = time.perf_counter() - started
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        print(f"{name}: {len(failures)} conversations failed, first: {failures[0]!r}")
    return {
        "name": name,
        "turns": len(latencies),
        "tps": len(latencies) / elapsed,
        **figures([seconds for _, seconds in latencies]),
        # The first turn differs (Rasa starts a session and calls our action endpoint): show each turn apart.
        "by_turn": [figures([s for i, s in latencies if i == turn]) for turn in range(len(TURNS))],
    }


def demo_site_key(web_url: str) -> str:
    html = urllib.request.urlopen(web_url + "/").read().decode()
    match = re.search(r'data-site="([^"]+)"', html)
    if not match:
        raise SystemExit("No demo site on the page: start the product with `make run` first.")
    return match.group(1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", "-n", type=int, default=50)
    parser.add_argument("--web", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--rasa",
        default="http://127.0.0.1:5005",
        help="Rasa server(s), comma-separated (RASA_PROCESSES=2 make run: ports 5005,5006); "
        "the direct phase spreads conversations over them",
    )
    parser.add_argument("--site", help="embed key (default: the demo page's)")
    args = parser.parse_args()
    site = args.site or demo_site_key(args.web)
    ws_url = args.web.replace("http", "ws", 1) + "/ws/chat/"
    start_line = StartLine(args.conversations)
    rasa_urls = [url.strip() for url in args.rasa.split(",") if url.strip()]

    web = await phase(
        "web (WebSocket → consumer → Rasa)",
        [lambda lat: web_conversation(ws_url, args.web, site, start_line, lat) for _ in range(args.conversations)],
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        rasa = await phase(
            "rasa (REST webhook directly)",
            [
                lambda lat, url=url: rasa_conversation(session, url, lat)
                for url in (rasa_urls * args.conversations)[: args.conversations]
            ],
        )

    print(f"\n{args.conversations} concurrent conversations x {len(TURNS)} turns")
    print(f"{'':38} {'turns':>6} {'turns/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for r in (web, rasa):
        print(f"{r['name']:38} {r['turns']:6d} {r['tps']:8.1f} {r['p50']:8.1f} {r['p95']:8.1f}")
    print(f"\n{'p50 / p95 ms by turn':38} {'web':>17} {'rasa':>17}")
    for turn, text in enumerate(TURNS):
        w, r = web["by_turn"][turn], rasa["by_turn"][turn]
        print(f"{turn + 1}. {text:35} {w['p50']:8.1f} {w['p95']:8.1f} {r['p50']:8.1f} {r['p95']:8.1f}")
    print(
        f"\nweb/rasa p50 ratio: {web['p50'] / rasa['p50']:.2f}   p95 ratio: {web['p95'] / rasa['p95']:.2f}"
        f"   (target p95 ratio <= 1.20)"
    )


if __name__ == "__main__":
    asyncio.run(main())
