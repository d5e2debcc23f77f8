"""Abuse limits of the widget's WebSocket: what one address, one site and one socket may ask for.

A script that opens conversations as fast as it can must not fill Rasa's queue, grow
the database without bound or skew the funnel; a real visitor must not notice any of
it. So the limits count what costs something (a new conversation, a message for the
bot, an open socket) and never a visitor resuming their own conversation.

Rates are counted by django-ratelimit, a kept library, on Django's cache: Redis when
REDIS_URL is set (shared by every web process), local memory in the embedded
default. The open-socket count is a counter on the same cache. Every function here
does blocking cache I/O: the consumer calls them off the event loop.

The client address is the socket's peer, unless that peer is a trusted proxy and
CLIENT_IP_HEADER names the header it sets (``client_ip``). IPv6 addresses count per
/64, the block one subscriber usually holds.
"""

import ipaddress

from django.conf import settings
from django.core.cache import cache
from django_ratelimit.core import get_usage

from chatbot.errors import ChatError

UNKNOWN_CLIENT = "unknown"
IPV6_PREFIX = 64
# An open-socket count outlives a web process that died without closing its sockets by
# at most this long after the address last connected.
SOCKET_COUNT_TTL_SECONDS = 3600


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


def rate_exceeded(*, group: str, key: str, rate: str) -> bool:
    """Count one hit of ``key`` in ``group``; True once it is over ``rate`` in this window."""
    usage = get_usage(None, group=f"chat.{group}", key=lambda _group, _request: key, rate=rate, increment=True)
    return bool(usage and usage["should_limit"])


def conversation_admit(*, site_id: int, ip: str) -> None:
    """May this address open a new conversation on this site now? ChatError when not.

    The address is counted first: an address over its own limit does not use up the site's.
    """
    if rate_exceeded(group="conversations-ip", key=ip, rate=settings.CHAT_IP_CONVERSATION_RATE_LIMIT):
        raise ChatError("too_many_conversations")
    if rate_exceeded(group="conversations-site", key=str(site_id), rate=settings.CHAT_SITE_CONVERSATION_RATE_LIMIT):
        raise ChatError("site_busy")


def message_admit(*, visitor_id: int, ip: str) -> None:
    """May this visitor, from this address, send the bot a message now? ChatError("rate_limited") when not.

    Per visitor (across tabs) and per address: a script that drops its visitor token gets
    a new visitor, not a new allowance.
    """
    if rate_exceeded(group="messages-visitor", key=str(visitor_id), rate=settings.CHAT_RATE_LIMIT):
        raise ChatError("rate_limited")
    if rate_exceeded(group="messages-ip", key=ip, rate=settings.CHAT_IP_MESSAGE_RATE_LIMIT):
        raise ChatError("rate_limited")


def _socket_key(ip: str) -> str:
    return f"{settings.RATELIMIT_CACHE_PREFIX}chat-sockets:{ip}"


def socket_open(*, ip: str) -> bool:
    """Count an open socket of this address; False (and not counted) when it has too many open."""
    key = _socket_key(ip)
    cache.add(key, 0, timeout=SOCKET_COUNT_TTL_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=SOCKET_COUNT_TTL_SECONDS)
        count = 1
    cache.touch(key, SOCKET_COUNT_TTL_SECONDS)
    if count > settings.CHAT_MAX_SOCKETS_PER_IP:
        socket_close(ip=ip)
        return False
    return True


def socket_close(*, ip: str) -> None:
    key = _socket_key(ip)
    try:
        if cache.decr(key) < 0:
            cache.delete(key)
    except ValueError:  # the count expired meanwhile
        pass
