"""What the bot didn't understand: visitor messages with intent nlu_fallback or out_of_scope, grouped.

Grouping is deliberately simple and explainable: two messages are in the same group when
their *normalised text* is equal, where normalising is

1. lowercase;
2. every run of characters that are not letters (punctuation, digits, symbols, spaces)
   becomes one space;
3. stop words (``STOP_WORDS``) are dropped;
4. the remaining words are joined with single spaces.

So "Is there a FREE trial?!" and "is there a free trial" are both "free trial". On
PostgreSQL the same steps run in SQL (one query, grouped in the database); elsewhere in
Python. ``normalise`` is the reference the SQL is tested against.
"""

import re

from django.db import connection
from django.db.models import Max, Sum

from analytics import rollups
from analytics.models import DailyFallbackText
from analytics.selectors import Scope

STOP_WORDS = frozenset(
    """
    a an the and or but if then so of to in on at by for with from about as into is are was were be been
    being am do does did doing have has had i me my we our you your it its this that these those there
    here what which who whom can could would should will shall may might must please just any some
    """.split()
)
GROUP_LIMIT = 200
EXAMPLES_PER_GROUP = 5
_NON_LETTERS = re.compile(r"[\W\d_]+")


def normalise(text: str) -> str:
    words = _NON_LETTERS.sub(" ", text.lower()).split()
    return " ".join(w for w in words if w not in STOP_WORDS)


# The messages are counted per exact text in the daily rollups (DailyFallbackText, analytics/rollups.py);
# each distinct text of the range is normalised once, then the texts are grouped by their normalised form.
# array_agg(text ORDER BY text) lists a group's texts as array_agg(DISTINCT text) did, in sorted order.
_GROUPS_SQL = """
WITH texts AS (
    SELECT text, sum(messages) AS messages, max(last_seen) AS last_seen
    FROM analytics_dailyfallbacktext
    WHERE day >= %(start)s AND day <= %(end)s
      AND (%(site)s::bigint IS NULL OR site_id = %(site)s::bigint)
    GROUP BY text
),
normalised AS (
    SELECT text, messages, last_seen,
           array_to_string(ARRAY(
               SELECT w FROM unnest(string_to_array(
                   btrim(regexp_replace(lower(text), '[^[:alpha:]]+', ' ', 'g')), ' ')) WITH ORDINALITY AS t(w, i)
               WHERE w <> '' AND NOT (w = ANY(%(stop)s))
               ORDER BY i), ' ') AS normalised
    FROM texts
)
SELECT normalised, sum(messages)::bigint AS messages, count(*) AS variants, max(last_seen) AS last_seen,
       (array_agg(text ORDER BY text))[1:%(examples)s] AS examples
FROM normalised
GROUP BY normalised
ORDER BY messages DESC, normalised
LIMIT %(limit)s
"""


def fallback_groups(scope: Scope, *, limit: int = GROUP_LIMIT, examples: int = EXAMPLES_PER_GROUP) -> list[dict]:
    """Groups of not-understood messages, biggest first: normalised text, count, distinct variants, examples.

    Read from the rollups, after bringing them up to date (as the dashboard does).
    """
    rollups.refresh()
    if connection.vendor == "postgresql":
        params = {
            "stop": sorted(STOP_WORDS),
            "start": scope.start,
            "end": scope.end,
            "site": scope.site_id,
            "examples": examples,
            "limit": limit,
        }
        with connection.cursor() as cursor:
            cursor.execute(_GROUPS_SQL, params)
            rows = cursor.fetchall()
        return [
            {"normalised": n, "messages": count, "variants": variants, "last_seen": last, "examples": list(ex)}
            for n, count, variants, last, ex in rows
        ]
    return _fallback_groups_python(scope, limit=limit, examples=examples)


def _fallback_groups_python(scope: Scope, *, limit: int, examples: int) -> list[dict]:
    """The embedded (SQLite) default: distinct texts summed in the database, normalised here."""
    texts = DailyFallbackText.objects.filter(day__gte=scope.start, day__lte=scope.end)
    if scope.site_id:
        texts = texts.filter(site_id=scope.site_id)
    texts = texts.values("text").annotate(n=Sum("messages"), last=Max("last_seen")).order_by()
    groups: dict[str, dict] = {}
    for row in texts:
        key = normalise(row["text"])
        group = groups.setdefault(
            key, {"normalised": key, "messages": 0, "variants": 0, "last_seen": None, "examples": []}
        )
        group["messages"] += row["n"]
        group["variants"] += 1
        group["last_seen"] = max(filter(None, [group["last_seen"], row["last"]]))
        group["examples"].append(row["text"])
    result = sorted(groups.values(), key=lambda g: (-g["messages"], g["normalised"]))[:limit]
    for group in result:
        group["examples"] = sorted(group["examples"])[:examples]
    return result


def intent_name(normalised: str, index: int) -> str:
    """A placeholder intent for labelling: to_label_<n>_<words>, letters/digits/underscores only."""
    words = re.sub(r"[^a-z0-9]+", "_", normalised.encode("ascii", "ignore").decode().lower()).strip("_")
    return f"to_label_{index:03d}" + (f"_{words[:40].rstrip('_')}" if words else "")


def _yaml_example(text: str) -> str:
    # One line per example; Rasa reads "[text](entity)" as an annotation, so brackets are kept literal-safe.
    one_line = " ".join(text.split())
    return one_line.replace("[", "(").replace("]", ")")


def nlu_yaml(groups: list[dict]) -> str:
    """The groups as Rasa NLU training data (YAML, version 3.1), one placeholder intent per group."""
    lines = [
        'version: "3.1"',
        "# Messages the bot did not understand, grouped by normalised text.",
        "# Rename each to_label_* intent to a real one (or merge into an existing intent) before training.",
        "nlu:",
    ]
    for index, group in enumerate(groups, start=1):
        examples = [_yaml_example(t) for t in group["examples"]]
        examples = [e for e in dict.fromkeys(examples) if e]
        if not examples:
            continue
        lines.append(f"- intent: {intent_name(group['normalised'], index)}")
        lines.append(f"  # {group['messages']} messages; normalised: {group['normalised'] or '(no words)'}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in examples)
    return "\n".join(lines) + "\n"
