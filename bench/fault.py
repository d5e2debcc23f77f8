"""Fault benchmark: paced visitors chat while the Rasa server is killed (-9) and restarted once.

Run `make bench-fault` (or this script on a migrated, seeded PostgreSQL database named by
DATABASE_URL, with REDIS_URL). It starts its own web process, one Rasa server and a Celery worker
with beat (tests/servers.py), set up as `make run` runs them with PostgreSQL and Redis: local
settings (tasks go to the worker), the abuse limits lifted, the Rasa server and the worker under
scripts/keep-running.sh, which starts a process again whenever it dies.

`--visitors` visitors (50) are on the site: each arrives within one think time, sends the scripted
turns, each with its own client id, waits for the bot (its answer, or the notice that the answer
comes later, at most `--patience` s) and thinks (exponential, mean `--think` s) before the next; a
visitor who has sent every turn keeps the tab open and a new one takes the slot. `--kill-after` s
after the start the Rasa server is killed with -9; its supervisor starts it again, which takes as
long as loading the model. Visitors go on until `--after-back` s after the server answers again;
then the script waits up to `--deadline` s for every message's answer to reach its open tab.

Which bot messages answer which visitor message is read from Rasa's own record (each user event of
the tracker carries the stored message's id; the bot events after it are its answer), matched with
the stored transcript; the tab's frames carry the stored ids. A message's wait runs from sending it
to the first frame of its answer in the tab.

It prints messages sent, answered, lost (no answer in the open tab by the deadline; must be 0, split
by what the database holds), answered twice, answered out of order, p50/p95/max of the waits (all,
and by when the message was sent: before the kill, while Rasa was down, after), and how long Rasa
was down. The exit status is 1 when a message was lost or could not be checked.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import websockets

# The back-to-back benchmark's turns (bench/chat_load.py): a greeting, small talk, out of scope, goodbye.
TURNS = ["hello", "are you a bot?", "what's the weather like in Paris?", "thanks", "bye"]
# The web and the worker as `make run` runs them against PostgreSQL and Redis, with the abuse limits
# lifted (every visitor of the benchmark comes from 127.0.0.1), as in the test settings.
OPEN_LIMITS = {
    "CHAT_IP_MESSAGE_RATE_LIMIT": "100000/minute",
    "CHAT_IP_CONVERSATION_RATE_LIMIT": "100000/minute",
    "CHAT_SITE_CONVERSATION_RATE_LIMIT": "100000/minute",
    "CHAT_IP_CONNECTION_RATE_LIMIT": "100000/minute",
    "CHAT_MAX_SOCKETS_PER_IP": "100000",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- what happened, and what it means ------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    conversation: str  # the conversation's public id
    client_id: str
    index: int  # the turn of the visitor's script
    at: float  # seconds since the run began


@dataclass
class Transcript:
    """What the database and Rasa hold of one conversation after the run."""

    visitor: dict[str, tuple[int, str]]  # client id → (stored message id, delivery)
    bot: list[tuple[int, str]]  # the bot's stored messages (id, text), oldest first
    # Rasa's tracker: (message id, texts of the bot events after it); None before the first user event.
    handled: list[tuple[str | None, list[str]]]


@dataclass
class Verdict:
    sent: Sent
    state: str  # one of STATES
    wait: float | None = None  # seconds from sending to the answer's first frame in the tab
    twice: bool = False  # handled by Rasa, or shown in the tab, more than once (stored twice: "unchecked")
    out_of_order: bool = False  # handled or shown before a message the visitor sent earlier


STATES = {
    "answered": "answered in the open tab",
    "never stored": "never stored (the web process lost it)",
    "waiting": "stored, still waiting for the bot",
    "history only": "answered, but the answer never reached the open tab (in the history only)",
    "silent": "answered with nothing to show (Rasa said nothing)",
    "unchecked": "could not be checked (the transcript and Rasa's record disagree)",
}
LOST = ("never stored", "waiting", "history only", "unchecked")


def answers_of(transcript: Transcript) -> tuple[dict[str, list[int]], Counter, bool]:
    """Message id (the stored visitor message's, as Rasa got it) → ids of the stored bot messages that
    answered it; how often Rasa handled each message; and whether the stored bot messages line up with
    Rasa's record (False when they do not: then nothing can be told from them).

    Bot events before the first user event (Rasa's session start) belong to the first turn's answer,
    as the web process stores them; bot messages stored before the visitor's first message (the
    site's greeting, stored when the conversation starts) answer nothing.
    """
    groups = [(message_id, list(texts)) for message_id, texts in transcript.handled]
    if len(groups) > 1 and groups[0][0] is None:
        leading = groups.pop(0)[1]
        groups[0] = (groups[0][0], leading + groups[0][1])
    handled = Counter(message_id for message_id, _ in groups)
    answers: dict[str, list[int]] = {}
    first = min((pk for pk, _ in transcript.visitor.values()), default=0)
    rows, position = [(pk, text) for pk, text in transcript.bot if pk > first], 0
    for message_id, texts in groups:
        taken = rows[position : position + len(texts)]
        if [text for _, text in taken] != texts:
            if message_id in answers:
                continue  # handled again by Rasa, stored once (recording an answered message stores nothing)
            return answers, handled, False
        position += len(texts)
        answers.setdefault(message_id, []).extend(pk for pk, _ in taken)
    return answers, handled, position == len(rows)  # left over: stored answers Rasa has no record of


def verdicts(
    sent: list[Sent], tabs: dict[str, list[tuple[float, dict]]], transcripts: dict[str, Transcript]
) -> list[Verdict]:
    """One verdict per message sent, from the tabs' frames (conversation → [(seconds, frame)]) and the
    transcripts (conversation → ``Transcript``)."""
    result: list[Verdict] = []
    by_conversation: dict[str, list[Sent]] = {}
    for message in sent:
        by_conversation.setdefault(message.conversation, []).append(message)
    for conversation, messages in by_conversation.items():
        transcript = transcripts.get(conversation, Transcript({}, [], []))
        answers, handled, aligned = answers_of(transcript)
        shown: dict[int, list[float]] = {}
        for at, frame in tabs.get(conversation, []):
            if frame.get("type") == "bot" and frame.get("sender") == "bot":
                shown.setdefault(frame["id"], []).append(at)
        rasa_order = [message_id for message_id, _ in transcript.handled if message_id is not None]
        own: list[tuple[Verdict, int | None, float | None]] = []  # with Rasa's position and the answer's arrival
        for message in sorted(messages, key=lambda m: m.index):
            verdict, position = Verdict(message, "never stored"), None
            stored = transcript.visitor.get(message.client_id)
            if stored is not None:
                message_id, delivery = str(stored[0]), stored[1]
                replies = answers.get(message_id, [])
                if message_id in rasa_order:
                    position = rasa_order.index(message_id)
                verdict.twice = handled[message_id] > 1 or any(len(shown.get(r, [])) > 1 for r in replies)
                if delivery in ("pending", "queued"):
                    verdict.state = "waiting"
                elif not aligned or message_id not in answers:  # delivered, and Rasa has no record of it?
                    verdict.state = "unchecked"
                elif not replies:
                    verdict.state = "silent"
                elif any(r in shown for r in replies):
                    verdict.state = "answered"
                    verdict.wait = min(min(shown[r]) for r in replies if r in shown) - message.at
                else:
                    verdict.state = "history only"
            own.append((verdict, position, None if verdict.wait is None else message.at + verdict.wait))
        # Out of order: Rasa handled it, or the tab showed its answer, before a message sent earlier.
        for i, (verdict, position, arrival) in enumerate(own):
            for _, earlier_position, earlier_arrival in own[:i]:
                if position is not None and earlier_position is not None and earlier_position > position:
                    verdict.out_of_order = True
                if arrival is not None and earlier_arrival is not None and earlier_arrival > arrival:
                    verdict.out_of_order = True
        result.extend(verdict for verdict, _, _ in own)
    return result


def waits_line(label: str, found: list[Verdict]) -> str:
    waits = [v.wait for v in found if v.wait is not None]
    if not waits:
        return f"  {label:34} {len(found):5d} sent, none answered"
    return (
        f"  {label:34} {len(found):5d} sent  {statistics.median(waits) * 1000:9,.0f} {percentile(waits, 0.95) * 1000:9,.0f}"
        f" {max(waits) * 1000:9,.0f}"
    )


def report(found: list[Verdict], *, kill_at: float | None, back_at: float | None, told_later: int) -> bool:
    """Prints the figures; True when every message was answered in its open tab (or had nothing to show)."""
    states = Counter(v.state for v in found)
    lost = sum(states[state] for state in LOST)
    print(f"\nmessages sent          {len(found):6d}")
    print(f"answered               {states['answered']:6d}")
    print(f"lost                   {lost:6d}   (must be 0)")
    for state in LOST:
        if states[state]:
            print(f"  {STATES[state]}: {states[state]}")
    if states["silent"]:
        print(f"{STATES['silent']}: {states['silent']}")
    print(f"answered twice         {sum(v.twice for v in found):6d}")
    print(f"answered out of order  {sum(v.out_of_order for v in found):6d}")
    print(f"told 'answered later'  {told_later:6d}   (the notice a visitor gets when their message is queued)")
    print(f"\n{'waits, send to answer in the tab':34} {'':11} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    print(waits_line("all", found))
    if kill_at is not None:
        down_until = back_at if back_at is not None else float("inf")
        print(waits_line("sent before the kill", [v for v in found if v.sent.at < kill_at]))
        print(waits_line("sent while Rasa was down", [v for v in found if kill_at <= v.sent.at < down_until]))
        print(waits_line("sent after it was back", [v for v in found if v.sent.at >= down_until]))
        if back_at is None:
            print(f"\nRasa killed at {kill_at:.1f} s and never answered again")
        else:
            print(
                f"\nRasa down {back_at - kill_at:.1f} s (killed at {kill_at:.1f} s, answering again at {back_at:.1f} s)"
            )
            late = [v.sent.at + v.wait for v in found if v.wait is not None and v.sent.at < back_at]
            if late:
                print(
                    f"the last answer to a message sent before it was back came {max(late) - back_at:.1f} s after that"
                )
    for v in [v for v in found if v.state in LOST][:20]:
        print(f"  lost: conversation {v.sent.conversation}, message {v.sent.client_id}: {STATES[v.state]}")
    return lost == 0


# --- the run ---------------------------------------------------------------------------------------


class Tab:
    """A visitor's open widget: a reader task stamps every frame on arrival (seconds since the run began)."""

    def __init__(self, ws, conversation: str, began: float) -> None:
        self.ws, self.conversation, self.began = ws, conversation, began
        self.frames: list[tuple[float, dict]] = []
        self.changed = asyncio.Condition()
        self.closed_by_server = False
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                async with self.changed:
                    self.frames.append((time.perf_counter() - self.began, json.loads(raw)))
                    self.changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        self.closed_by_server = True  # before the run closed it (close() cancels this task first)

    async def bot_frame_after(self, seen: int, timeout: float) -> None:
        """Until a bot frame (an answer or a system notice) comes after the first ``seen`` frames, or ``timeout``."""

        def found() -> bool:
            return any(frame["type"] == "bot" for _, frame in self.frames[seen:])

        try:
            async with self.changed:
                await asyncio.wait_for(self.changed.wait_for(found), timeout)
        except TimeoutError:
            pass

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


@dataclass
class Run:
    began: float
    stop: asyncio.Event
    sent: list[Sent] = field(default_factory=list)
    tabs: list[Tab] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    kill_at: float | None = None
    back_at: float | None = None

    def now(self) -> float:
        return time.perf_counter() - self.began


async def pause(run: Run, seconds: float) -> None:
    """Think for ``seconds``, or less when the run stops."""
    try:
        await asyncio.wait_for(run.stop.wait(), seconds)
    except TimeoutError:
        pass


async def visitor(run: Run, rng: random.Random, args, *, ws_url: str, origin: str, site: str) -> None:
    ws = await websockets.connect(ws_url, origin=origin, max_size=2**20)
    await ws.send(json.dumps({"type": "start", "site": site, "visitor": None, "timezone": "UTC", "page": origin}))
    session = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if session.get("type") != "session":
        await ws.close()
        raise RuntimeError(f"could not start a conversation: {session}")
    tab = Tab(ws, session["conversation"], run.began)
    run.tabs.append(tab)  # kept open to the end: a late answer must reach it
    for index, text in enumerate(TURNS):
        if run.stop.is_set():
            return
        seen, client_id, at = len(tab.frames), f"f{index}-{uuid.uuid4().hex[:8]}", run.now()
        await ws.send(json.dumps({"type": "message", "text": text, "id": client_id}))
        run.sent.append(Sent(tab.conversation, client_id, index, at))
        await tab.bot_frame_after(seen, args.patience)
        await pause(run, rng.expovariate(1 / args.think))


async def slot(run: Run, rng: random.Random, args, **where) -> None:
    await pause(run, rng.uniform(0, args.think))
    while not run.stop.is_set():
        try:
            await visitor(run, rng, args, **where)
        except Exception as error:  # noqa: BLE001 (counted, shown, and the slot's next visitor comes)
            run.failures.append(error)
            await pause(run, 1)


def answers_again(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


async def fault(run: Run, rasa, status_url: str, args) -> None:
    """Kill the Rasa server after ``--kill-after`` s; note when it answers again; stop the visitors
    ``--after-back`` s later (or ``--deadline`` s after the kill if it never does)."""
    await asyncio.sleep(args.kill_after)
    pid = rasa.server_pid()
    rasa.kill()
    run.kill_at = run.now()
    print(f"  {run.kill_at:7.1f} s  Rasa server killed (-9, pid {pid}); its supervisor starts it again", flush=True)
    while run.now() < run.kill_at + args.deadline:
        await asyncio.sleep(0.5)
        if rasa.server_pid() not in (None, pid) and await asyncio.to_thread(answers_again, status_url):
            run.back_at = run.now()
            print(f"  {run.back_at:7.1f} s  Rasa answers again (pid {rasa.server_pid()})", flush=True)
            await asyncio.sleep(args.after_back)
            break
    run.stop.set()


def waiting_count(conversations: list[str]) -> int:
    from chatbot.models import Message

    try:
        return Message.objects.filter(
            conversation__public_id__in=conversations, sender="visitor", delivery__in=["pending", "queued"]
        ).count()
    finally:
        from django.db import connection

        connection.close()


async def traffic(args, servers, *, origin: str, site: str) -> Run:
    run = Run(began=time.perf_counter(), stop=asyncio.Event())
    rng = random.Random(args.seed)
    ws_url = servers.web_url.replace("http", "ws", 1) + "/ws/chat/"
    rasa = servers.rasas[0]
    status_url = f"{rasa.url}/status?token={servers.rasa_token}"
    where = {"ws_url": ws_url, "origin": origin, "site": site}
    await asyncio.gather(
        fault(run, rasa, status_url, args), *(slot(run, rng, args, **where) for _ in range(args.visitors))
    )
    stopped = run.now()
    conversations = sorted({m.conversation for m in run.sent})
    print(f"  {stopped:7.1f} s  visitors stop; {len(run.sent)} messages sent; waiting for the answers", flush=True)
    while run.now() < stopped + args.deadline:
        if (waiting := await asyncio.to_thread(waiting_count, conversations)) == 0:
            print(f"  {run.now():7.1f} s  no message waits for the bot any more", flush=True)
            await asyncio.sleep(3)  # the last answers' frames are on their way to the tabs
            break
        await asyncio.sleep(1)
    else:
        print(f"  {run.now():7.1f} s  deadline: {waiting} messages still wait for the bot", flush=True)
    for tab in run.tabs:
        await tab.close()
    return run


def transcript_of(public_id: str, servers) -> Transcript:
    from chatbot.models import Message

    visitor, bot = {}, []
    for pk, sender, text, client_id, delivery in Message.objects.filter(conversation__public_id=public_id).values_list(
        "pk", "sender", "text", "client_id", "delivery"
    ):
        if sender == "visitor":
            visitor[client_id] = (pk, delivery)
        elif sender == "bot":
            bot.append((pk, text))
    bot.sort()
    with urllib.request.urlopen(servers.rasa_api(f"/conversations/{public_id}/tracker"), timeout=30) as response:
        events = json.load(response)["events"]
    handled: list[tuple[str | None, list[str]]] = []
    for event in events:
        if event["event"] == "user":
            handled.append((event.get("message_id"), []))
        elif event["event"] == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            if not handled:
                handled.append((None, []))
            handled[-1][1].append(event.get("text") or "")
    return Transcript(visitor, bot, handled)


def fault_run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.live_setup import demo_site

    site = demo_site(make_target="make bench-fault", redis=True)
    from config.celery import app
    from tests.servers import CeleryWorker, start_servers

    logs = Path(args.logs) / time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    prefix = f"bench-fault-{uuid.uuid4().hex[:8]}"
    # The web process and the worker share the channel layer (the worker's answers reach the tabs) and
    # the cache (the once-marker of a queued conversation).
    shared = {"DJANGO_SETTINGS_MODULE": "config.settings.local", "CHANNELS_PREFIX": prefix, "CACHE_PREFIX": prefix}
    print(
        f"fault: {args.visitors} paced visitors (think time mean {args.think:g} s), Rasa killed (-9) "
        f"{args.kill_after:g} s in, visitors go on until {args.after_back:g} s after it is back, "
        f"answers awaited up to {args.deadline:g} s; worker with {args.worker_concurrency} processes; starting the servers",
        flush=True,
    )
    app.control.purge()  # tasks of an earlier run on this Redis database name conversations that are gone
    servers = start_servers(
        database_url=os.environ["DATABASE_URL"],
        logs=logs,
        env_extra={**shared, **OPEN_LIMITS},
        rasa_supervised=True,
    )
    worker = CeleryWorker(
        logs,
        os.environ["DATABASE_URL"],
        env_extra={**shared, "RASA_URLS": ",".join(servers.rasa_urls)},
        beat=True,
        supervised=True,
        concurrency=args.worker_concurrency,
    )
    try:
        worker.start()
        run = asyncio.run(traffic(args, servers, origin=site.origin_list()[0], site=site.embed_key))
        conversations = sorted({m.conversation for m in run.sent})
        transcripts = {public_id: transcript_of(public_id, servers) for public_id in conversations}
    finally:
        worker.stop()
        servers.stop()
    tabs = {tab.conversation: tab.frames for tab in run.tabs}
    told_later = sum(1 for tab in run.tabs for _, f in tab.frames if f["type"] == "bot" and f["sender"] == "system")
    if run.failures:
        print(f"\n{len(run.failures)} visitors could not chat (first: {run.failures[0]!r})")
    if closed := sum(tab.closed_by_server for tab in run.tabs):
        print(f"\n{closed} tabs were closed by the server before the end")
    ok = report(verdicts(run.sent, tabs, transcripts), kill_at=run.kill_at, back_at=run.back_at, told_later=told_later)
    print(f"\nlogs: {logs}")
    return 0 if ok and run.back_at is not None else 1


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50, help="visitors on the site at once (default 50)")
    parser.add_argument("--think", type=float, default=8.0, help="mean think time between messages, s (default 8)")
    parser.add_argument(
        "--patience", type=float, default=30.0, help="a visitor waits this long for the bot, s (default 30)"
    )
    parser.add_argument(
        "--kill-after", type=float, default=30.0, help="Rasa is killed this long after the start, s (default 30)"
    )
    parser.add_argument(
        "--after-back", type=float, default=30.0, help="visitors go on this long after Rasa is back, s (default 30)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=300.0,
        help="how long to wait for Rasa, and then for the answers, s (default 300)",
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=2,
        help="the worker's processes, as the Procfile and deploy/systemd run it (default 2)",
    )
    parser.add_argument("--seed", type=int, default=1, help="arrivals and think times (default 1)")
    parser.add_argument("--logs", default="test-artifacts/bench-fault", help="the servers' logs go here")
    args = parser.parse_args(argv)
    if (
        min(args.visitors, args.worker_concurrency) < 1
        or min(args.think, args.patience, args.deadline) <= 0
        or min(args.kill_after, args.after_back) < 0
    ):
        parser.error(
            "--visitors and --worker-concurrency must be at least 1; --think, --patience and --deadline above 0; the rest not negative"
        )
    return args


if __name__ == "__main__":
    sys.exit(fault_run(arguments()))
