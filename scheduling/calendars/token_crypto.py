"""OAuth tokens of calendar connections, encrypted at rest with Fernet (``cryptography``).

The keys come from settings: ``CALENDAR_TOKEN_KEYS`` lists Fernet keys, newest first. The
first one encrypts; every one of them decrypts, so a key is rotated by putting a new key
in front, running ``manage.py rotate_calendar_tokens`` (which re-encrypts every stored
token with the first key) and then dropping the old key. Without the setting a key is
derived from ``SECRET_KEY``, so the embedded default works with nothing configured.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenKeyMissing(Exception):
    """A stored token was encrypted with a key that is no longer configured."""


def _keys() -> list[bytes]:
    keys = [key.encode() for key in getattr(settings, "CALENDAR_TOKEN_KEYS", []) if key]
    if not keys:
        digest = hashlib.sha256(f"calendar-tokens:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest)]
    return keys


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def token_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def token_decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise TokenKeyMissing("The calendar token was encrypted with a key that is not configured") from exc


def token_reencrypt(stored: str) -> str:
    """The same token encrypted with the newest key (MultiFernet.rotate)."""
    return _fernet().rotate(stored.encode()).decode() if stored else ""
