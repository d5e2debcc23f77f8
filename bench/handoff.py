"""Live handoff benchmark: 20 visitors ask for a person at once while 3 reps have the inbox open.

Run `make bench-handoff` (or this script on a migrated, seeded PostgreSQL database named by
DATABASE_URL): it starts its own web process (`--web N`: N of them, the visitors and reps dealt out over
them in turn) and Rasa server (tests/servers.py), gives the three
demo reps the demo site, signs them in (a real session each) and opens their inbox sockets
(/ws/inbox/). Then N visitors (`--visitors`) open the widget's socket and, all at once, ask for a
person: first with the widget's "talk to a person" button, then N more in typed words (`--ask`).
It prints, p50 and p95, for each way:

- request → alert: from the visitor's message to the `alert` frame on the routed rep's inbox
  socket (typed words go through Rasa, the action endpoint and the routing; the button's payload is
  routed by the web process as it arrives), split into the
  request → the bot's first answer on the visitor's socket, and that answer → the alert (negative
  when the alert comes first);
- rep's message → visitor (after the last way of asking): the reps take the conversations over (spread over the reps in turn),
  then every rep sends one message to each of their conversations at once; from a rep's `message`
  frame to the `agent` frame on the visitor's socket.

Target: p95 under 500 ms for both (issue 15).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import websockets

# Two ways of asking: typed words (read by the bot, so the alert waits for the bot's turn) and the widget's
# "talk to a person" button (its payload is recorded and routed by the web process as it arrives).
REQUESTS = {"typed": "Can I talk to a real person please?", "button": "/request_human"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Socket:
    """A WebSocket whose frames a reader task stamps on arrival, so waiting never delays the clock."""

    def __init__(self, ws) -> None:
        self.ws, self.frames, self.changed = ws, [], asyncio.Condition()
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            async with self.changed:
                self.frames.append((time.perf_counter(), json.loads(raw)))
                self.changed.notify_all()

    async def send(self, frame: dict) -> float:
        sent = time.perf_counter()
        await self.ws.send(json.dumps(frame))
        return sent

    async def wait(self, match, timeout: float) -> tuple[float, dict]:
        """The first frame (any time since the socket opened) for which ``match(frame)`` is true."""

        def found():
            return next(((t, f) for t, f in self.frames if match(f)), None)

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(found), timeout)
            return found()

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def visitor_open(ws_url: str, origin: str, site: str) -> tuple[Socket, str]:
    ws = await websockets.connect(ws_url, origin=origin, max_size=2**20)
    await ws.send(json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": origin}))
    session = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if session.get("type") != "session":
        raise RuntimeError(f"could not start a conversation: {session}")
    return Socket(ws), session["conversation"]


async def rep_open(ws_url: str, origin: str, cookie: str) -> Socket:
    ws = await websockets.connect(ws_url, origin=origin, additional_headers={"Cookie": cookie}, max_size=2**22)
    rep = Socket(ws)
    await rep.wait(lambda f: f["type"] == "list", 30)
    return rep


def figures(name: str, values: list[float], expected: int) -> str:
    if not values:
        return f"{name:34} none of {expected} arrived"
    ms = [v * 1000 for v in values]
    return (
        f"{name:34} {len(values):3d}/{expected:<3d} p50 {statistics.median(ms):7.0f} ms   "
        f"p95 {percentile(ms, 0.95):7.0f} ms   max {max(ms):7.0f} ms"
    )


async def handoff_runs(web_urls: list[str], origin: str, site: str, cookies: dict[str, str], args) -> list[str]:
    """With several web processes, the reps' inboxes and the visitors are dealt out over them in turn."""
    reps = {}
    for i, (name, cookie) in enumerate(cookies.items()):
        web_url = web_urls[i % len(web_urls)]
        reps[name] = await rep_open(web_url.replace("http", "ws", 1) + "/ws/inbox/", web_url, cookie)
    lines = []
    asks = ["button", "typed"] if args.ask == "both" else [args.ask]
    for ask in asks:
        lines.append(f"asked by {ask} ({REQUESTS[ask]!r}):")
        lines += await handoff_run(
            web_urls, origin, site, reps, args.visitors, args.timeout, ask=ask, rep_messages=ask == asks[-1]
        )
    for rep in reps.values():
        await rep.close()
    return lines


async def handoff_run(
    web_urls: list[str],
    origin: str,
    site: str,
    reps: dict,
    visitors: int,
    timeout: float,
    *,
    ask: str,
    rep_messages: bool,
) -> list[str]:
    chat_urls = [url.replace("http", "ws", 1) + "/ws/chat/" for url in web_urls]
    opened = await asyncio.gather(*(visitor_open(chat_urls[i % len(chat_urls)], origin, site) for i in range(visitors)))
    # Every visitor asks at once.
    requested = dict(
        zip(
            [conversation for _, conversation in opened],
            await asyncio.gather(
                *(socket.send({"type": "message", "text": REQUESTS[ask], "id": "h1"}) for socket, _ in opened)
            ),
            strict=True,
        )
    )

    async def alert(conversation: str) -> tuple[str, float] | None:
        """The rep alerted for this conversation and the delay, or None when no alert came."""
        waits = {
            asyncio.create_task(
                rep.wait(lambda f, c=conversation: f["type"] == "alert" and f["row"]["conversation"] == c, timeout)
            ): name
            for name, rep in reps.items()
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is None:
                return waits[task], task.result()[0] - requested[conversation]
        return None

    alerts = await asyncio.gather(*(alert(conversation) for conversation in requested))
    alerted = [a for a in alerts if a is not None]
    lines = [figures("request → rep's alert", [delay for _, delay in alerted], visitors)]
    # Where the time goes: the bot's answer (through Rasa) reaches the visitor, then the alert the rep.
    answered = {}
    for socket, conversation in opened:
        try:
            answered[conversation] = (await socket.wait(lambda f: f["type"] == "bot", timeout))[0]
        except TimeoutError:
            pass
    lines.append(figures("  request → bot's answer (Rasa)", [t - requested[c] for c, t in answered.items()], visitors))
    lines.append(
        figures(
            "  bot's answer → rep's alert",
            [requested[c] + a[1] - answered[c] for c, a in zip(requested, alerts, strict=True) if a and c in answered],
            visitors,
        )
    )
    lines.append("  alerts per rep: " + ", ".join(f"{n} {c}" for n, c in Counter(n for n, _ in alerted).items()))
    if not rep_messages:
        for socket, _ in opened:
            await socket.close()
        return lines

    # The reps take the conversations over, in turn, each rep one conversation after another.
    names = list(reps)
    held = {name: [] for name in names}
    for i, (socket, conversation) in enumerate(opened):
        held[names[i % len(names)]].append((socket, conversation))

    async def take_over(name: str) -> None:
        rep = reps[name]
        for _, conversation in held[name]:
            await rep.send({"type": "take_over", "conversation": conversation})
            _, frame = await rep.wait(
                lambda f, c=conversation: (
                    (f["type"] == "transcript" and f["conversation"] == c) or f["type"] == "error"
                ),
                timeout,
            )
            if frame["type"] == "error":
                raise RuntimeError(f"{name} could not take over {conversation}: {frame}")

    await asyncio.gather(*(take_over(name) for name in names))
    for socket, _ in opened:  # the visitor's widget knows a person has joined
        await socket.wait(lambda f: f["type"] == "mode" and f["mode"] == "agent", timeout)

    # Every rep sends one message to each of their conversations, all reps at the same time.
    async def messages_of(name: str) -> list[tuple[Socket, str, float]]:
        sent = []
        for socket, conversation in held[name]:
            text = f"Hi, {name} here ({conversation[:8]})"
            at = await reps[name].send({"type": "message", "conversation": conversation, "text": text})
            sent.append((socket, text, at))
        return sent

    sent = [item for items in await asyncio.gather(*(messages_of(n) for n in names)) for item in items]

    async def shown(socket: Socket, text: str, at: float) -> float | None:
        try:
            arrived, _ = await socket.wait(lambda f: f["type"] == "agent" and f["text"] == text, timeout)
        except TimeoutError:
            return None
        return arrived - at

    delays = await asyncio.gather(*(shown(*item) for item in sent))
    lines.append(figures("rep's message → visitor's screen", [d for d in delays if d is not None], visitors))
    for socket, _ in opened:
        await socket.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", "-n", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3, help="reps online (at most the 3 demo reps)")
    parser.add_argument(
        "--ask", choices=["both", "typed", "button"], default="both", help="how the visitors ask (default both)"
    )
    parser.add_argument(
        "--web", type=int, default=1, help="web processes (visitors and reps dealt out over them; default 1)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="an alert or a message later than this is lost, s")
    parser.add_argument("--logs", default="test-artifacts/bench-handoff", help="the servers' logs go here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.live_setup import demo_site

    site = demo_site(make_target="make bench-handoff")
    from django.conf import settings
    from django.test import Client

    from scheduling.models import SalesRep
    from tests.servers import start_servers

    reps = list(SalesRep.objects.filter(is_active=True, user__is_staff=True).select_related("user").order_by("pk"))
    if len(reps) < args.reps:
        raise SystemExit(f"fewer than {args.reps} reps: run `manage.py seed_demo` first.")
    cookies = {}
    for rep in reps[: args.reps]:
        rep.sites.add(site)  # the rep sees the demo site's conversations in the inbox
        client = Client()
        client.force_login(rep.user)
        cookies[rep.name] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    print(
        f"handoff: {args.visitors} visitors ask for a person at once, {args.reps} reps online, "
        f"{args.web} web process(es); starting the servers..."
    )
    servers = start_servers(database_url=os.environ["DATABASE_URL"], logs=Path(args.logs), web_count=args.web)
    try:
        lines = asyncio.run(handoff_runs(servers.web_urls, site.origin_list()[0], site.embed_key, cookies, args))
    finally:
        servers.stop()
    print()
    print("\n".join(lines))
    print("target: p95 < 500 ms for both")


if __name__ == "__main__":
    main()
