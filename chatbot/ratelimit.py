"""A fixed-window rate limit on the shared Django cache (Redis in production).

The `limits` library would be the natural choice, but it needs packaging>=21
while Rasa 3.6 pins packaging<21 in the same environment; this is the small
part of it we need, with atomic increments so it holds across processes.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

PERIODS = {"second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def rate_parse(value: str) -> Rate:
    try:
        count, period = value.split("/")
        return Rate(count=int(count), seconds=PERIODS[period.strip()])
    except (ValueError, KeyError) as exc:
        raise ValueError(f"rate must look like '20/minute', got {value!r}") from exc


def rate_hit(*, key: str, rate: Rate) -> bool:
    """Count one hit; True while the key is within its rate in this window."""
    window = int(time.time() // rate.seconds)
    cache_key = f"ratelimit:{key}:{window}"
    if cache.add(cache_key, 1, timeout=rate.seconds + 1):
        return True
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=rate.seconds + 1)
        return True
    return hits <= rate.count
