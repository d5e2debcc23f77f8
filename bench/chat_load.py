"""Load benchmark: the web layer (WebSocket consumer) against Rasa's own REST webhook.

Run `make run` in one terminal, then `make bench` (or
`.venv/bin/python bench/chat_load.py --conversations 50`) in another. N concurrent
conversations send the same scripted turns, first through the widget's WebSocket,
then straight to Rasa; the script prints turns/s, p50 and p95 turn latency for
both, the same per turn of the script (the first turn also starts Rasa's session,
which calls our action endpoint) and the web/Rasa ratio. A turn ends when its
first bot frame arrives.

Paced mode (`make bench-paced`, or `--paced` on a migrated, seeded PostgreSQL database named by
DATABASE_URL): the script starts its own web process and Rasa servers (tests/servers.py), first one
Rasa server, then two. Visitors arrive over time and wait a human think time (exponential, mean
`--think` seconds) between their messages; a visitor who has sent the scripted turns leaves and a
new one takes their place, so the number of visitors on the site stays the stage's. Each stage
holds N visitors for `--stage-seconds`; the search doubles N from `--start` until a stage's p95
reply time reaches `--limit` (or N reaches `--max-visitors`), then bisects. It prints the largest
N under the limit for 1 and 2 servers and their ratio.
"""

import argparse
import asyncio
import json
import math
import os
import random
import re
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


async def web_conversation(
    ws_url: str, origin: str, site: str, start: StartLine, latencies: Latencies, turns: list[str] = TURNS
) -> None:
    async with websockets.connect(ws_url, origin=origin, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": origin}))
        session = json.loads(await ws.recv())
        if session.get("type") != "session":
            raise RuntimeError(f"could not start a conversation: {session}")
        await start.wait()
        for i, text in enumerate(turns):
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


# --- paced mode ---------------------------------------------------------------------------------


def capacity_search(
    measure: Callable[[int], float], *, start: int, max_visitors: int, limit: float, resolution: float = 0.1
) -> tuple[int, list[tuple[int, float]]]:
    """The largest visitor count whose measured p95 (``measure(n)``, seconds) stays under ``limit``.

    Doubles from ``start`` until a stage fails or ``max_visitors`` passes, then bisects between the
    last count that passed (0 when ``start`` fails) and the first that failed until they are within
    ``resolution`` (a fraction of the passing count, at least one visitor). Returns the count (0
    when even one visitor is too slow) and every stage measured, in order, as (visitors, p95).
    """
    if start < 1 or max_visitors < start:
        raise ValueError(f"need 1 <= start <= max_visitors, got start={start}, max_visitors={max_visitors}")
    stages: list[tuple[int, float]] = []

    def passes(visitors: int) -> bool:
        p95 = measure(visitors)
        stages.append((visitors, p95))
        return p95 < limit

    good, bad, visitors = 0, None, start
    while True:
        if not passes(visitors):
            bad = visitors
            break
        good = visitors
        if visitors >= max_visitors:
            break
        visitors = min(visitors * 2, max_visitors)
    while bad is not None and bad - good > max(1, int(resolution * good)):
        middle = (good + bad) // 2
        if passes(middle):
            good = middle
        else:
            bad = middle
    return good, stages


@dataclass
class Stage:
    visitors: int
    replies: list[float] = field(default_factory=list)  # seconds, messages sent in the measured window
    unanswered: int = 0  # no bot frame within the reply timeout (counted as infinitely slow)
    failures: list[Exception] = field(default_factory=list)  # conversations that broke

    @property
    def p95(self) -> float:
        values = self.replies + [math.inf] * (self.unanswered + len(self.failures))
        return percentile(values, 0.95) if values else math.inf


async def think(ws, seconds: float) -> None:
    """The visitor reads (and the script drops the turn's remaining frames) for ``seconds``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            return


async def paced_visitor(
    ws_url: str,
    origin: str,
    site: str,
    stage: Stage,
    rng: random.Random,
    *,
    until: float,
    measure_from: float,
    think_mean: float,
    reply_timeout: float,
) -> None:
    async with websockets.connect(ws_url, origin=origin, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": origin}))
        session = json.loads(await asyncio.wait_for(ws.recv(), reply_timeout))
        if session.get("type") != "session":
            raise RuntimeError(f"could not start a conversation: {session}")
        for i, text in enumerate(TURNS):
            if time.perf_counter() >= until:
                return
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": text, "id": f"p{i}"}))
            try:
                async with asyncio.timeout(reply_timeout):
                    while (frame := json.loads(await ws.recv()))["type"] != "bot":
                        if frame["type"] == "error":
                            raise RuntimeError(f"error frame: {frame}")
                answered = time.perf_counter() - started
            except TimeoutError:
                answered = None
            if started >= measure_from:
                if answered is None:
                    stage.unanswered += 1
                else:
                    stage.replies.append(answered)
            await think(ws, rng.expovariate(1 / think_mean))


async def paced_stage(
    ws_url: str,
    origin: str,
    site: str,
    visitors: int,
    *,
    seconds: float,
    think_mean: float,
    reply_timeout: float,
    seed: int,
) -> Stage:
    """``visitors`` on the site for ``seconds``: each slot's first visitor arrives within one think
    time, and a visitor who leaves is replaced; replies to messages sent after the arrivals count."""
    stage, rng = Stage(visitors), random.Random(seed)
    began = time.perf_counter()
    until, measure_from = began + seconds, began + min(think_mean, seconds / 3)

    async def slot() -> None:
        await asyncio.sleep(rng.uniform(0, think_mean))
        while time.perf_counter() < until:
            try:
                await paced_visitor(
                    ws_url,
                    origin,
                    site,
                    stage,
                    rng,
                    until=until,
                    measure_from=measure_from,
                    think_mean=think_mean,
                    reply_timeout=reply_timeout,
                )
            except Exception as error:  # noqa: BLE001 (counted, shown, and the slot's next visitor comes)
                stage.failures.append(error)
                await asyncio.sleep(1)

    await asyncio.gather(*(slot() for _ in range(visitors)))
    return stage


def paced_run(args: argparse.Namespace) -> None:
    """Capacity at p95 < limit with 1 and with 2 Rasa servers, each on servers this run starts."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.live_setup import demo_site

    site = demo_site(make_target="make bench-paced")
    from tests.servers import start_servers

    origin = site.origin_list()[0]
    print(
        f"paced: think time mean {args.think:g} s, {args.stage_seconds:g} s stages, p95 limit {args.limit * 1000:.0f} ms, "
        f"{args.start}..{args.max_visitors} visitors",
        flush=True,
    )
    results, seeds = {}, iter(range(1_000_000))
    for servers_count in args.rasa_servers:
        servers = start_servers(
            database_url=os.environ["DATABASE_URL"],
            logs=Path(args.logs) / f"rasa-{servers_count}",
            rasa_count=servers_count,
        )
        ws_url = servers.web_url.replace("http", "ws", 1) + "/ws/chat/"

        def measure(visitors: int, ws_url: str = ws_url, servers_count: int = servers_count) -> float:
            stage = asyncio.run(
                paced_stage(
                    ws_url,
                    origin,
                    site.embed_key,
                    visitors,
                    seconds=args.stage_seconds,
                    think_mean=args.think,
                    reply_timeout=args.reply_timeout,
                    seed=next(seeds),
                )
            )
            answered = figures(stage.replies)
            print(
                f"  {servers_count} Rasa, {visitors:4d} visitors: {len(stage.replies):5d} replies, "
                f"p50 {answered['p50']:7.0f} ms, p95 {stage.p95 * 1000:7.0f} ms, "
                f"{stage.unanswered} unanswered, {len(stage.failures)} failed"
                + (f" (first: {stage.failures[0]!r})" if stage.failures else ""),
                flush=True,
            )
            time.sleep(2)  # the last visitors' sockets close
            return stage.p95

        try:
            results[servers_count] = capacity_search(
                measure, start=args.start, max_visitors=args.max_visitors, limit=args.limit
            )
        finally:
            servers.stop()

    print(f"\nlargest number of paced visitors with p95 reply < {args.limit * 1000:.0f} ms")
    for servers_count, (capacity, stages) in results.items():
        capped = " (the --max-visitors cap)" if capacity >= args.max_visitors else ""
        print(f"  {servers_count} Rasa server(s): {capacity}{capped}   ({len(stages)} stages)")
    if len(results) == 2:
        one, two = (results[n][0] for n in args.rasa_servers)
        ratio = f"{two / one:.2f}" if one else "n/a"
        print(
            f"  ratio {args.rasa_servers[1]}/{args.rasa_servers[0]} servers: {ratio}   (target: 150 visitors with 1 server)"
        )


def arguments() -> argparse.Namespace:
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
    paced = parser.add_argument_group("paced mode (starts its own servers on DATABASE_URL)")
    paced.add_argument("--paced", action="store_true", help="find the capacity at p95 < --limit, 1 and 2 Rasa servers")
    paced.add_argument("--think", type=float, default=8.0, help="mean think time between messages, s (default 8)")
    paced.add_argument("--stage-seconds", type=float, default=60.0, help="length of each stage, s (default 60)")
    paced.add_argument("--start", type=int, default=10, help="visitors in the first stage (default 10)")
    paced.add_argument("--max-visitors", type=int, default=400, help="the search stops here (default 400)")
    paced.add_argument("--limit", type=float, default=1.0, help="p95 reply time to stay under, s (default 1)")
    paced.add_argument("--reply-timeout", type=float, default=15.0, help="a reply later than this is lost, s")
    paced.add_argument(
        "--rasa-servers", type=int, nargs=2, default=[1, 2], metavar=("A", "B"), help="the two set-ups (default 1 2)"
    )
    paced.add_argument("--logs", default="test-artifacts/bench-paced", help="the servers' logs go here")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
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
    arguments_given = arguments()
    if arguments_given.paced:
        paced_run(arguments_given)
    else:
        asyncio.run(main(arguments_given))
