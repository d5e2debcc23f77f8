"""Calendar OAuth tokens at rest: encrypted with the configured keys, and rotatable."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from scheduling.calendars import connection_store_oauth_grant
from scheduling.calendars.token_crypto import TokenKeyMissing, token_decrypt
from scheduling.models import CalendarConnection
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db


def test_tokens_are_rotated_to_a_new_key_and_the_old_key_can_then_be_dropped(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CALENDAR_TOKEN_KEYS = [old_key]
    connection = connection_store_oauth_grant(
        connection=CalendarConnection(rep=SalesRepFactory()),
        kind=CalendarConnection.Kind.GOOGLE,
        access_token="ya29.access",
        refresh_token="1//refresh",
        expires_at=None,
    )
    stored = CalendarConnection.objects.get(pk=connection.pk)
    assert "1//refresh" not in stored.refresh_token_encrypted
    assert Fernet(old_key.encode()).decrypt(stored.refresh_token_encrypted.encode()) == b"1//refresh"

    settings.CALENDAR_TOKEN_KEYS = [new_key, old_key]  # the new key first; the old one still reads
    assert token_decrypt(stored.refresh_token_encrypted) == "1//refresh"
    out = StringIO()
    call_command("rotate_calendar_tokens", stdout=out)
    assert "1 calendar connection" in out.getvalue()

    settings.CALENDAR_TOKEN_KEYS = [new_key]  # the old key dropped
    rotated = CalendarConnection.objects.get(pk=connection.pk)
    assert token_decrypt(rotated.refresh_token_encrypted) == "1//refresh"
    assert token_decrypt(rotated.access_token_encrypted) == "ya29.access"

    settings.CALENDAR_TOKEN_KEYS = [old_key]  # a token under a key no longer configured is refused
    with pytest.raises(TokenKeyMissing):
        token_decrypt(rotated.refresh_token_encrypted)
