"""`make bot-eval`: play visitor personas against the real bot and print the figures of issue 11.

    .venv/bin/python -m tests.bot_eval [--persona ID ...] [--kind KIND ...] [--jobs 2] [--personas FILE]

Needs DATABASE_URL (a migrated database seeded with `manage.py seed_demo`: the demo site, reps with
working hours, the default qualification rules), REDIS_URL and a trained model; the Makefile target
makes a scratch database for it. Starts the real web process and Rasa server (tests/servers.py),
plays the personas over the widget's WebSocket, prints a table per persona and the totals against
the targets, writes each transcript to test-artifacts/bot-eval/<persona-id>.txt plus summary.json,
and exits 1 when a target is missed (2 when it could not run).
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PERSONAS = ROOT / "chatbot/bot/tests/personas.yml"
DEFAULT_OUT = ROOT / "test-artifacts/bot-eval"
# The servers this run starts: no per-visitor rate limit in the way of a fast simulated visitor,
# and time enough for Rasa on a shared 2-core machine (a timeout would be the machine, not the bot).
SERVER_ENV = {"CHAT_RATE_LIMIT": "1000/minute", "RASA_TIMEOUT_SECONDS": "60"}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bot_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--personas", type=Path, default=DEFAULT_PERSONAS, help="the persona file")
    parser.add_argument("--persona", action="append", default=[], metavar="ID", help="play this persona (repeat)")
    parser.add_argument("--kind", action="append", default=[], metavar="KIND", help="play this kind (repeat)")
    parser.add_argument("--jobs", type=int, default=2, help="personas played at once (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where transcripts and summary.json go")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    sys.path.insert(0, str(ROOT))
    from tests.bot_eval.personas import PersonaError, personas_load, personas_select

    try:
        personas = personas_select(personas_load(args.personas), ids=args.persona, kinds=args.kind)
    except PersonaError as error:
        print(f"bot-eval: {error}", file=sys.stderr)
        return 2
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("bot-eval: set DATABASE_URL to a migrated, seeded PostgreSQL database (`make bot-eval` does).")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from chatbot.models import Site
    from chatbot.views import DEMO_SITE_NAME
    from scheduling.models import WorkingHours
    from tests.bot_eval.driver import Endpoint, personas_play
    from tests.bot_eval.metrics import artifacts_write, persona_result, report_text, totals
    from tests.servers import start_servers

    site = Site.objects.filter(name=DEMO_SITE_NAME).first()
    if site is None or not site.origin_list() or not WorkingHours.objects.exists():
        print("bot-eval: no demo site or no rep working hours: run `manage.py seed_demo` on this database first.")
        return 2

    print(f"bot-eval: {len(personas)} personas from {args.personas}, {args.jobs} at a time; starting the servers...")
    servers = start_servers(database_url=os.environ["DATABASE_URL"], logs=args.out / "servers", env_extra=SERVER_ENV)
    try:
        endpoint = Endpoint(
            ws_url=servers.web_url.replace("http", "ws", 1) + "/ws/chat/",
            origin=site.origin_list()[0],
            site_key=site.embed_key,
            page=site.origin_list()[0] + "/",
        )

        def progress(persona, transcript) -> None:
            print(f"  played {persona.id}: {len(transcript.turns)} turns, {transcript.end}", flush=True)

        transcripts = asyncio.run(personas_play(personas, endpoint, jobs=args.jobs, on_done=progress))
    finally:
        servers.stop()

    results = [persona_result(p, t) for p, t in zip(personas, transcripts, strict=True)]
    total = totals(results)
    print()
    print(report_text(results, total))
    artifacts_write(args.out, transcripts, results, total)
    print(f"\nTranscripts and summary.json in {args.out}")
    return 0 if total.passed else 1


if __name__ == "__main__":
    sys.exit(main())
