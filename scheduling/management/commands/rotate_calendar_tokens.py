"""Re-encrypt calendar OAuth tokens with the newest key of CALENDAR_TOKEN_KEYS (the first)."""

from django.core.management.base import BaseCommand

from scheduling.calendars import connections_reencrypt_tokens


class Command(BaseCommand):
    help = "Re-encrypt every stored calendar OAuth token with the first key of CALENDAR_TOKEN_KEYS."

    def handle(self, *args, **options) -> None:
        count = connections_reencrypt_tokens()
        self.stdout.write(f"Re-encrypted the tokens of {count} calendar connection(s).")
