"""Abuse benchmark: one attacker opening conversations while 20 scripted visitors chat.

Run `make run` in one terminal, then `make bench-abuse` (or `.venv/bin/python
bench/abuse.py`) in another. Two phases of --seconds each, against the running web
process and its Rasa:

1. the visitors alone: each opens a conversation and chats at a person's pace
   (a turn, then --think seconds), recording the time from sending a message to
   the bot's first reply;
2. the same with one attacker that opens conversations as fast as it can (the
   report's script: `start` without a visitor token, then a message, again and
   again, reconnecting whenever the server closes the socket).

It prints the attacker's accepted conversations per minute (the target: held to
CHAT_IP_CONVERSATION_RATE_LIMIT) and the visitors' p95 reply time in both phases
(the target: at most 20 % higher with the attacker). Each visitor connects from
its own loopback address (127.0.0.2-21) and the attacker from 127.0.0.100, so the
per-address limits treat them as the different clients they stand for. The attacker
runs in a process of its own: sharing the visitors' event loop, its busy loop would
delay the visitors' own clients and be counted as the server's reply time.
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import random
import statistics
import time
import zlib

import websockets
from chat_load import demo_site_key  # bench/ is the script's own folder, first on sys.path

TURNS = ["hello", "what does it cost?", "do you integrate with Salesforce?", "is my data safe with you?", "thanks"]
VISITORS = 20
ATTACKER_ADDRESS = "127.0.0.100"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_frame(site: str, page: str) -> str:
    return json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": page})


class Visitor:
    def __init__(self, number: int) -> None:
        self.address = f"127.0.0.{2 + number}"
        self.latencies: list[float] = []
        self.errors: collections.Counter = collections.Counter()

    async def chat(self, ws_url: str, origin: str, site: str, until: float, think: float) -> None:
        async with websockets.connect(ws_url, origin=origin, local_addr=(self.address, 0)) as ws:
            await ws.send(start_frame(site, origin))
            session = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if session.get("type") != "session":
                self.errors[session.get("code", session.get("type"))] += 1
                return
            turn = 0
            await asyncio.sleep(random.uniform(0, think))  # visitors do not all type at once
            while time.monotonic() < until:
                text = TURNS[turn % len(TURNS)]
                sent = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": text, "id": f"v{turn}"}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if frame["type"] == "error":
                        self.errors[frame["code"]] += 1
                        break
                    if frame["type"] == "bot":
                        self.latencies.append(time.perf_counter() - sent)
                        break
                turn += 1
                await asyncio.sleep(think * random.uniform(0.7, 1.3))


class Attacker:
    """The report's script, as fast as it can: `start` without a visitor token, then a
    message, again and again on one socket; on any refusal it drops the socket and
    reconnects at once (it does not wait for the server to close it)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.accepted_at: list[float] = []
        self.starts = 0
        self.connections = 0
        self.handshakes_refused = 0
        self.refusals: collections.Counter = collections.Counter()

    async def run(self, ws_url: str, origin: str, site: str, until: float) -> None:
        while time.monotonic() < until:
            try:
                async with websockets.connect(
                    ws_url, origin=origin, local_addr=(ATTACKER_ADDRESS, 0), open_timeout=30, close_timeout=0.1
                ) as ws:
                    self.connections += 1
                    while time.monotonic() < until:
                        await ws.send(start_frame(site, origin))
                        self.starts += 1
                        while True:  # skip the previous message's typing and bot frames
                            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                            if frame.get("type") in {"session", "error"}:
                                break
                        if frame["type"] != "session":
                            self.refusals[frame["code"]] += 1
                            break  # refused: a new socket at once
                        self.accepted += 1
                        self.accepted_at.append(time.time())
                        await ws.send(json.dumps({"type": "message", "text": "hello", "id": "a"}))
            except websockets.InvalidStatus:  # the handshake refused (403)
                self.handshakes_refused += 1
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                continue
            except OSError:
                await asyncio.sleep(0.05)


def attacker_process(ws_url: str, origin: str, site: str, seconds: float, sockets: int, results) -> None:
    """The attacker's own process: `sockets` loops for `seconds`, then its counts back through `results`."""

    async def attack() -> Attacker:
        attacker = Attacker()
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(attacker.run(ws_url, origin, site, until) for _ in range(sockets)), return_exceptions=True
        )
        return attacker

    results.put(vars(asyncio.run(attack())))


async def phase(args, site: str, *, with_attacker: bool) -> tuple[list[Visitor], Attacker | None, float]:
    ws_url = args.web.replace("http", "ws", 1) + "/ws/chat/"
    until = time.monotonic() + args.seconds
    visitors = [Visitor(i) for i in range(VISITORS)]
    attacker = None
    if with_attacker:
        spawn = multiprocessing.get_context("spawn")
        counts = spawn.Queue()
        process = spawn.Process(
            target=attacker_process,
            args=(ws_url, args.origin, site, args.seconds, args.attacker_sockets, counts),
            daemon=True,
        )
        process.start()
    started = time.monotonic()
    jobs = [v.chat(ws_url, args.origin, site, until, args.think) for v in visitors]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        print(f"  {len(failures)} clients failed, first: {failures[0]!r}")
    if with_attacker:
        attacker = Attacker()
        vars(attacker).update(await asyncio.to_thread(counts.get, timeout=args.seconds + 60))
        process.join(timeout=10)
    return visitors, attacker, time.monotonic() - started


def summary(visitors: list[Visitor]) -> dict:
    latencies = [s for v in visitors for s in v.latencies]
    errors = sum((v.errors for v in visitors), collections.Counter())
    return {
        "turns": len(latencies),
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) * 1000 if latencies else float("nan"),
        "errors": dict(errors),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web", default="http://127.0.0.1:8000")
    parser.add_argument("--origin", default="http://127.0.0.1:8000", help="an origin the site allows")
    parser.add_argument("--site", help="embed key (default: the demo page's)")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each phase")
    parser.add_argument("--think", type=float, default=4.0, help="seconds a visitor takes between turns")
    parser.add_argument("--attacker-sockets", type=int, default=4, help="sockets the attacker uses at once")
    args = parser.parse_args()
    site = args.site or demo_site_key(args.web)

    # Rasa's first turns load its pipeline: warm it up so the first phase is not the slower one.
    warm = Visitor(VISITORS + 10)
    await warm.chat(args.web.replace("http", "ws", 1) + "/ws/chat/", args.origin, site, time.monotonic() + 5, 0.5)

    print(f"phase 1: {VISITORS} visitors, {args.seconds:.0f} s ...")
    alone, _, _ = await phase(args, site, with_attacker=False)
    print(f"phase 2: {VISITORS} visitors and one attacker, {args.seconds:.0f} s ...")
    attacked, attacker, elapsed = await phase(args, site, with_attacker=True)

    quiet, loud = summary(alone), summary(attacked)
    print(f"\n{'visitors':28} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8}  errors")
    print(f"{'alone':28} {quiet['turns']:6d} {quiet['p50']:8.1f} {quiet['p95']:8.1f}  {quiet['errors'] or '-'}")
    print(f"{'with the attacker':28} {loud['turns']:6d} {loud['p50']:8.1f} {loud['p95']:8.1f}  {loud['errors'] or '-'}")
    rise = (loud["p95"] / quiet["p95"] - 1) * 100
    print(f"visitors' p95 change with the attacker: {rise:+.1f} % (target <= +20 %)")
    per_minute = attacker.accepted / (elapsed / 60)
    print(
        f"\nattacker: {attacker.connections} sockets opened, {attacker.handshakes_refused} refused at the handshake, "
        f"{attacker.starts} start frames, {attacker.accepted} conversations accepted = {per_minute:.1f} per minute "
        f"over {elapsed:.0f} s"
    )
    busiest = max((sum(1 for u in attacker.accepted_at if t <= u < t + 60) for t in attacker.accepted_at), default=0)
    # django-ratelimit counts in fixed windows, each key's shifted by crc32(key) % period.
    offset = zlib.crc32(ATTACKER_ADDRESS.encode()) % 60
    per_window = collections.Counter(int((t - offset) // 60) for t in attacker.accepted_at)
    print(f"attacker refusals: {dict(attacker.refusals)}")
    print(
        f"accepted per limiter window (one-minute windows of {ATTACKER_ADDRESS}): "
        f"{[per_window[w] for w in sorted(per_window)]}; most in any 60 s span: {busiest}"
    )
    print(
        "(target: held to CHAT_IP_CONVERSATION_RATE_LIMIT, default 10 per one-minute window; a 60 s span\n"
        " across a window's end can hold two windows' worth)"
    )


if __name__ == "__main__":
    asyncio.run(main())
