"""Abuse limits of the widget's WebSocket: what one address, one site and one socket may ask for.

A script that opens conversations as fast as it can must not fill Rasa's queue, grow
the database without bound or skew the funnel; a real visitor must not notice any of
it. So the limits count what costs something (a new conversation, a message for the
bot, an open socket) and never a visitor resuming their own conversation.

Rates are counted by django-ratelimit, a kept library, on Django's cache: Redis when
REDIS_URL is set (shared by every web process), local memory in the embedded
default; ``rate_exceeded`` and the ``*_admit`` functions do blocking cache I/O, so
the consumer calls them off the event loop.

What is answered on the event loop without any I/O, because an attacker can ask for
it as fast as it can reconnect, is counted in each web process (N processes behind a
load balancer let an address have up to N times as much, never more): sockets an
address opens per minute (``WebSocketGuard`` answers the excess at the handshake,
after a delay, before any consumer, channel or query exists), the sockets it holds
open (exact, and nothing to leak when a process dies), and an address that was just
refused a new conversation (remembered until its window ends, so its next attempts
cost neither a query nor a Redis round trip).

The client address is the socket's peer, unless that peer is a trusted proxy and
CLIENT_IP_HEADER names the header it sets (``client_ip``). IPv6 addresses count per
/64, the block one subscriber usually holds.
"""

import asyncio
import collections
import ipaddress
import logging
import re
import threading
import time

from django.conf import settings
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from chatbot.errors import ChatError

log = logging.getLogger(__name__)
UNKNOWN_CLIENT = "unknown"
IPV6_PREFIX = 64
# Addresses remembered (refused, or counting their connections), at most; when full, the
# oldest tenth is forgotten (they count again from zero: the limits err towards letting in).
ADDRESS_MEMORY = 10000
# A handshake over the connection rate waits this long (or CHAT_REFUSAL_HOLD_SECONDS if less)
# before it is refused, so a script that reconnects at once waits too; this many wait at once.
HANDSHAKE_HOLD_SECONDS = 5.0
MAX_HELD_HANDSHAKES = 1000
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_open_sockets: collections.Counter = collections.Counter()
_refused_until: dict[str, float] = {}
_connections: dict[str, tuple[int, int]] = {}  # address -> (window number, sockets opened in it)
_held_handshakes = 0


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from a header entry: '203.0.113.5', '203.0.113.5:4711', '[2001:db8::1]:443'."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address) -> bool:
    return address is not None and any(address in network for network in settings.TRUSTED_PROXIES)


def client_ip(scope: dict) -> str:
    """The visitor's address as the limits count it.

    The peer, unless the peer is in TRUSTED_PROXIES and CLIENT_IP_HEADER is set: then the
    header, read from the right (the entry our own proxy appended) past any other trusted
    proxies. Anything unreadable there counts as the proxy itself, never as a fresh address.
    """
    peer = _address(str((scope.get("client") or ("",))[0] or ""))
    header = settings.CLIENT_IP_HEADER.lower().encode("latin-1")
    if header and _trusted(peer):
        values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == header]
        entries = [e for e in ",".join(values).split(",") if e.strip()]
        for entry in reversed(entries):
            address = _address(entry)
            if address is None:
                break
            if not _trusted(address):
                return _bucket(address)
            peer = address
    return _bucket(peer) if peer is not None else UNKNOWN_CLIENT


def _bucket(address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address) + f"/{IPV6_PREFIX}"
    return str(address)


def _usage(*, group: str, key: str, rate: str) -> dict | None:
    """Count one hit of ``key`` in ``group`` (django-ratelimit's fixed windows).

    Fails safe: while the shared counters (Redis) cannot be reached, each web process counts
    in its own memory (N processes let up to N times the limit through, never unlimited), so a
    Redis restart neither lets a flood through nor turns every visitor away.
    """
    try:
        return get_usage(None, group=f"chat.{group}", key=lambda _group, _request: key, rate=rate, increment=True)
    except (RedisError, OSError) as exc:
        log.warning("rate limit counters unavailable (%r); counting in this process", exc)
        return _local_usage(group=group, key=key, rate=rate)


_local_counts: dict[str, tuple[int, int]] = {}  # group:key -> (window number, hits in it)
_local_lock = threading.Lock()


def _local_usage(*, group: str, key: str, rate: str) -> dict:
    """django-ratelimit's answer, counted in this process (the fallback of ``_usage``)."""
    limit, seconds = _rate(rate)
    now = time.time()
    window = int(now // seconds)
    name = f"{group}:{key}"
    with _local_lock:  # called from the pool's threads
        seen_window, count = _local_counts.get(name, (window, 0))
        count = count + 1 if seen_window == window else 1
        if name not in _local_counts:
            _forget_oldest(_local_counts)
        _local_counts[name] = (window, count)
    return {
        "count": count,
        "limit": limit,
        "should_limit": count > limit,
        "time_left": int((window + 1) * seconds - now),
    }


def rate_exceeded(*, group: str, key: str, rate: str) -> bool:
    """Count one hit of ``key`` in ``group``; True once it is over ``rate`` in this window."""
    usage = _usage(group=group, key=key, rate=rate)
    return bool(usage and usage["should_limit"])


def _refused_key(ip: str) -> str:
    return settings.RATELIMIT_CACHE_PREFIX + ip


def conversation_refused_for(*, ip: str) -> float:
    """Seconds until this address, refused a new conversation in this window, may try again; 0 if
    it was not (no I/O)."""
    until = _refused_until.get(_refused_key(ip))
    return max(until - time.monotonic(), 0.0) if until is not None else 0.0


def conversation_admit(*, site_id: int, ip: str) -> None:
    """May this address open a new conversation on this site now? ChatError when not.

    The address is counted first: an address over its own limit does not use up the site's.
    """
    usage = _usage(group="conversations-ip", key=ip, rate=settings.CHAT_IP_CONVERSATION_RATE_LIMIT)
    if usage and usage["should_limit"]:
        retry_after = max(usage["time_left"], 1)
        _forget_oldest(_refused_until)  # a thread of the pool: dict operations hold the GIL
        _refused_until[_refused_key(ip)] = time.monotonic() + retry_after
        raise ChatError("too_many_conversations", retry_after=retry_after)
    usage = _usage(group="conversations-site", key=str(site_id), rate=settings.CHAT_SITE_CONVERSATION_RATE_LIMIT)
    if usage and usage["should_limit"]:
        raise ChatError("site_busy", retry_after=max(usage["time_left"], 1))


def message_admit(*, visitor_id: int, ip: str) -> None:
    """May this visitor, from this address, send the bot a message now? ChatError("rate_limited") when not.

    Per visitor (across tabs) and per address: a script that drops its visitor token gets
    a new visitor, not a new allowance.
    """
    if rate_exceeded(group="messages-visitor", key=str(visitor_id), rate=settings.CHAT_RATE_LIMIT):
        raise ChatError("rate_limited")
    if rate_exceeded(group="messages-ip", key=ip, rate=settings.CHAT_IP_MESSAGE_RATE_LIMIT):
        raise ChatError("rate_limited")


def _rate(value: str) -> tuple[int, int]:
    """(count, seconds) of a rate the settings validated: '60/minute', '5/10m'."""
    count, multiple, unit = re.match(r"(\d+)/(\d*)([smhd])", value).groups()
    return int(count), PERIODS[unit] * int(multiple or 1)


def _forget_oldest(memory: dict) -> None:
    if len(memory) >= ADDRESS_MEMORY:
        for key in list(memory)[: ADDRESS_MEMORY // 10]:
            memory.pop(key, None)


def connection_admit(*, ip: str) -> bool:
    """Count a socket this address opens; False once it opened more than
    CHAT_IP_CONNECTION_RATE_LIMIT in this window (in this process, no I/O)."""
    count, seconds = _rate(settings.CHAT_IP_CONNECTION_RATE_LIMIT)
    window = int(time.time() // seconds)
    key = _refused_key(ip)
    seen_window, opened = _connections.get(key, (window, 0))
    opened = opened + 1 if seen_window == window else 1
    if key not in _connections:
        _forget_oldest(_connections)
    _connections[key] = (window, opened)
    return opened <= count


class WebSocketGuard:
    """ASGI middleware before the widget's WebSocket router: an address opening sockets
    faster than CHAT_IP_CONNECTION_RATE_LIMIT is refused at the handshake (HTTP 403, the
    widget retries with backoff), after a short hold, and never reaches a consumer."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or connection_admit(ip=client_ip(scope)):
            return await self.app(scope, receive, send)
        global _held_handshakes
        await receive()  # websocket.connect
        if _held_handshakes < MAX_HELD_HANDSHAKES:
            _held_handshakes += 1
            try:
                await asyncio.sleep(min(HANDSHAKE_HOLD_SECONDS, settings.CHAT_REFUSAL_HOLD_SECONDS))
            finally:
                _held_handshakes -= 1
        await send({"type": "websocket.close", "code": 1013})


def socket_open(*, ip: str) -> bool:
    """Count an open socket of this address; False (and not counted) when it has too many open.

    Counted in this web process (called on its event loop): N processes behind a load
    balancer let an address hold up to N times the limit, never more.
    """
    if _open_sockets[ip] >= settings.CHAT_MAX_SOCKETS_PER_IP:
        return False
    _open_sockets[ip] += 1
    return True


def socket_close(*, ip: str) -> None:
    _open_sockets[ip] -= 1
    if _open_sockets[ip] <= 0:
        del _open_sockets[ip]
