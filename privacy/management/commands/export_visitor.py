import json
import sys

from django.core.management.base import BaseCommand, CommandError

from privacy.errors import PrivacyError
from privacy.models import PrivacyRecord
from privacy.services import visitor_export


class Command(BaseCommand):
    help = (
        "Export everything stored about the person with this email as JSON (conversations with messages, "
        "lead facts and decisions, meetings). Logged in Privacy records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--out", default="-", help="file to write (default: standard output)")
        parser.add_argument("--by", default="", help="who asked for it (a username, for the log)")

    def handle(self, *args, email: str, out: str, by: str, **options):
        from django.contrib.auth import get_user_model

        actor = get_user_model().objects.filter(username=by).first() if by else None
        try:
            document = visitor_export(email=email, actor=actor, via=PrivacyRecord.Via.COMMAND)
        except PrivacyError as error:
            raise CommandError(error.message) from error
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if out == "-":
            self.stdout.write(text, ending="")
        else:
            with open(out, "w", encoding="utf-8") as handle:
                handle.write(text)
            sys.stderr.write(f"Wrote {out}\n")
