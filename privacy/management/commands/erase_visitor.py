from django.core.management.base import BaseCommand, CommandError

from privacy.errors import PrivacyError
from privacy.models import PrivacyRecord
from privacy.services import visitor_erase


class Command(BaseCommand):
    help = (
        "Erase everything stored about the person with this email: their visitors, conversations, messages, "
        "lead and the bot's memory; their meetings keep only the rep and the time (one still to come is "
        "cancelled). Logged in Privacy records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--by", default="", help="who asked for it (a username, for the log)")

    def handle(self, *args, email: str, by: str, **options):
        from django.contrib.auth import get_user_model

        actor = get_user_model().objects.filter(username=by).first() if by else None
        try:
            record = visitor_erase(email=email, actor=actor, via=PrivacyRecord.Via.COMMAND)
        except PrivacyError as error:
            raise CommandError(error.message) from error
        counts = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in record.summary.items())
        self.stdout.write(f"Erased {email.strip()}: {counts}. Logged as privacy record {record.pk}.")
