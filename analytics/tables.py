"""The dashboard's tables as rows of display text: the page and its CSV downloads render the same cells."""

from dataclasses import dataclass

from analytics import selectors


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _num(value: int) -> str:
    return str(value)


def funnel_table(rows: list[dict]) -> Table:
    return Table(
        "funnel",
        "Funnel",
        ["Step", "Conversations", "% of previous step", "% of started"],
        [[r["label"], _num(r["count"]), _pct(r["rate_from_previous"]), _pct(r["rate_from_start"])] for r in rows],
    )


def drop_off_table(rows: list[dict]) -> Table:
    return Table(
        "drop_off",
        "Drop-off per qualification question",
        ["Question (form slot)", "Asked", "Answered", "Left there", "% left there"],
        [[r["question"], _num(r["asked"]), _num(r["answered"]), _num(r["left"]), _pct(r["left_rate"])] for r in rows],
        note="Conversations in which the bot asked the question; answered = the visitor wrote after it; "
        "left there = it was the last thing said.",
    )


SOURCE_COLUMNS = [
    ("conversations", "Conversations"),
    ("qualified", "Qualified"),
    ("nurture", "Nurture"),
    ("disqualified", "Disqualified"),
    ("qualified_rate", "% qualified"),
    ("booked", "Meetings booked"),
    ("booked_rate", "% booked"),
    ("held", "Meetings held"),
]
SOURCE_KEYS = {
    "utm": [("utm_source", "UTM source"), ("utm_medium", "UTM medium"), ("utm_campaign", "UTM campaign")],
    "referrer": [("referrer_host", "Referrer host")],
    "landing": [("landing_page", "Landing page")],
}


def source_table(dimension: str, rows: list[dict]) -> Table:
    keys = SOURCE_KEYS[dimension]
    body = []
    for r in rows:
        cells = [r[k] or "(none)" for k, _ in keys]
        for key, _ in SOURCE_COLUMNS:
            cells.append(_pct(r[key]) if key.endswith("_rate") else _num(r[key]))
        body.append(cells)
    return Table(
        f"source_{dimension}",
        f"By {selectors.SOURCE_DIMENSIONS[dimension]}",
        [label for _, label in keys] + [label for _, label in SOURCE_COLUMNS],
        body,
        note=f"The {selectors.SOURCE_ROW_LIMIT} biggest at most.",
    )


def reps_table(rows: list[dict], median_supported: bool) -> Table:
    return Table(
        "reps",
        "Meetings per rep",
        ["Rep", "Booked", "Held", "No-show", "Cancelled", "Still upcoming", "Median first message → booked"],
        [
            [
                r["rep"],
                _num(r["booked"]),
                _num(r["held"]),
                _num(r["no_show"]),
                _num(r["cancelled"]),
                _num(r["upcoming"]),
                selectors.format_duration(r["median_seconds"]),
            ]
            for r in rows
        ],
        note="" if median_supported else "Medians need PostgreSQL (n/a on SQLite).",
    )


def intents_table(rows: list[dict]) -> Table:
    return Table(
        "intents",
        "Intents seen (visitor messages)",
        ["Intent", "Messages", "Share", "Mean confidence"],
        [
            [
                r["intent"],
                _num(r["messages"]),
                _pct(r["share"]),
                "–" if r["mean_confidence"] is None else f"{r['mean_confidence']:.3f}",
            ]
            for r in rows
        ],
    )


def fallback_days_table(rows: list[dict]) -> Table:
    return Table(
        "fallback_days",
        "Fallback rate per day",
        ["Day (UTC)", "Visitor messages", "Not understood", "Fallback rate"],
        [[r["day"].isoformat(), _num(r["messages"]), _num(r["fallbacks"]), _pct(r["fallback_rate"])] for r in rows],
        note="Not understood = intent nlu_fallback or out_of_scope.",
    )


def dashboard_tables(data: dict) -> list[Table]:
    return [
        funnel_table(data["funnel"]),
        drop_off_table(data["drop_off"]),
        *[source_table(dimension, rows) for dimension, rows in data["sources"].items()],
        reps_table(data["reps"], data["median_supported"]),
        intents_table(data["intents"]),
        fallback_days_table(data["fallback_days"]),
    ]


def not_understood_table(groups: list[dict]) -> Table:
    return Table(
        "not_understood",
        "Messages the bot did not understand, grouped",
        ["Normalised text", "Messages", "Variants", "Last seen (UTC)", "Examples"],
        [
            [
                g["normalised"] or "(no words)",
                _num(g["messages"]),
                _num(g["variants"]),
                g["last_seen"].strftime("%Y-%m-%d %H:%M UTC") if g["last_seen"] else "",
                " | ".join(g["examples"]),
            ]
            for g in groups
        ],
    )
