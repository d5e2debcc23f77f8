"""What one turn costs: CPU of the Rasa server and of the web process per visitor message.

Run `make bench-turn-cost` (or this script on a migrated, seeded PostgreSQL database named by
DATABASE_URL, as `make bench-paced`): it starts its own web process and one Rasa server
(tests/servers.py), then plays `--visitors` conversations one after another over the widget's
WebSocket, each the same two scripts: small talk (bench/chat_load.py's turns) and a qualification
(need, role, company, size, timeline, budget). Nothing else runs in the servers meanwhile, so the CPU
time each process spent (its user + system time, read from /proc) divided by the messages sent is
what a turn costs it, whatever else the machine does: the figure that sets how many visitors a core
carries (README, "Sizing"). It also prints the reply time p50/p95 per script, which does depend on the
machine's other work.

A paced visitor sends a message every `think` seconds (8 s in bench/chat_load.py), so a Rasa server
whose turn costs C seconds of its core is busy C * visitors / 8 of the time; the script prints the
visitors at which that reaches 70 % (beyond it, queueing pushes the p95 past a second).
"""

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chat_load import TURNS as SMALL_TALK  # noqa: E402
from bench.chat_load import Latencies, StartLine, web_conversation  # noqa: E402
from bench.live_setup import demo_site  # noqa: E402

QUALIFICATION = [
    "we want inbound leads routed to the right rep without anyone sorting them",
    "I'm the head of sales",
    "Northwind Freight",
    "about 300 people",
    "this quarter",
    "yes, we have budget for it",
]
SCRIPTS = {"small talk": SMALL_TALK, "qualification": QUALIFICATION}
THINK_SECONDS = 8.0
BUSY_LIMIT = 0.7


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def play(ws_url: str, origin: str, site: str, script: list[str], replies: list[float]) -> None:
    """One conversation of ``script`` through the widget's socket; each message's reply time into ``replies``."""
    latencies: Latencies = []
    asyncio.run(web_conversation(ws_url, origin, site, StartLine(1), latencies, turns=script))
    replies.extend(seconds for _, seconds in latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20, help="conversations per script (default 20)")
    parser.add_argument("--logs", default="test-artifacts/bench-turn-cost", help="the servers' logs go here")
    args = parser.parse_args()
    if args.visitors < 1:
        raise SystemExit("--visitors must be at least 1")
    site = demo_site(make_target="make bench-turn-cost")
    from tests.servers import start_servers

    origin = site.origin_list()[0]
    print(f"turn cost: {args.visitors} conversations per script, one at a time; starting the servers...", flush=True)
    servers = start_servers(database_url=os.environ["DATABASE_URL"], logs=Path(args.logs), rasa_count=1)
    try:
        ws_url = servers.web_url.replace("http", "ws", 1) + "/ws/chat/"
        rasa_pid, web_pid = servers.rasas[0].server_pid(), servers.web.pid
        # One conversation first: the first turn after start-up loads what the model loads lazily.
        play(ws_url, origin, site.embed_key, SMALL_TALK, [])
        totals = {"rasa": 0.0, "web": 0.0, "messages": 0}
        for name, script in SCRIPTS.items():
            replies: list[float] = []
            rasa_before, web_before = cpu_seconds(rasa_pid), cpu_seconds(web_pid)
            for _ in range(args.visitors):
                play(ws_url, origin, site.embed_key, script, replies)
            rasa, web = cpu_seconds(rasa_pid) - rasa_before, cpu_seconds(web_pid) - web_before
            totals["rasa"] += rasa
            totals["web"] += web
            totals["messages"] += len(replies)
            ordered = sorted(replies)
            print(
                f"  {name:14s} {len(replies):4d} messages: Rasa {rasa / len(replies) * 1000:6.1f} ms CPU, "
                f"web {web / len(replies) * 1000:6.1f} ms CPU per message; reply p50 "
                f"{statistics.median(replies) * 1000:5.0f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:5.0f} ms",
                flush=True,
            )
    finally:
        servers.stop()
    rasa_turn = totals["rasa"] / totals["messages"]
    web_turn = totals["web"] / totals["messages"]
    print(f"\nper message, both scripts: Rasa {rasa_turn * 1000:.1f} ms CPU, web {web_turn * 1000:.1f} ms CPU")
    print(
        f"one Rasa server's core is {BUSY_LIMIT:.0%} busy at about {BUSY_LIMIT * THINK_SECONDS / rasa_turn:.0f} "
        f"paced visitors (one message per {THINK_SECONDS:g} s each); one web process's at about "
        f"{BUSY_LIMIT * THINK_SECONDS / web_turn:.0f}"
    )


if __name__ == "__main__":
    main()
