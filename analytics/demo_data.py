"""Realistic, deterministic demo data for the dashboard: sites, reps, conversations, messages, leads,
slot offers and meetings over the last N days.

Rows are generated in Python from one seeded ``random.Random`` and written with PostgreSQL's
COPY through psycopg 3 (``bulk_create`` in batches on other databases), with explicit ids
taken after the tables' current maximum, so the data is appended and sequences are moved on.
"""

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml
from django.conf import settings
from django.db import connection, models, transaction

from analytics import rollups
from chatbot.models import Conversation, Message, Site, Visitor
from qualification.models import Lead
from qualification.parsing import QUESTIONS
from scheduling.models import Meeting, SalesRep, SlotOffer

# The bot's own questions, in its order (the last one asks for name and email together).
# Chance that a visitor who was asked the question leaves there.
DROP_AT = {
    "need": 0.10,
    "role": 0.05,
    "company_name": 0.04,
    "company_size": 0.06,
    "timeline": 0.06,
    "budget": 0.12,
    "email": 0.18,
}
ANSWERS = {
    "need": [
        ("describe_need", "we need forecasts the board can trust"),
        ("describe_need", "better visibility into our pipeline"),
        ("describe_need", "our sales reporting takes days every month"),
        ("describe_need", "deal risk alerts for the team"),
    ],
    "role": [("inform", "Head of Sales"), ("inform", "sales ops manager"), ("inform", "CEO"), ("inform", "student")],
    "company_name": [("inform", "{company}")],
    "company_size": [
        ("inform", "about 50 people"),
        ("inform", "we are 200"),
        ("inform", "12"),
        ("inform", "around 1500 employees"),
    ],
    "timeline": [("inform", "this quarter"), ("inform", "in about 6 months"), ("inform", "just exploring for now")],
    "budget": [
        ("inform", "yes we have budget"),
        ("inform", "around 20k a year"),
        ("inform", "not sure about budget yet"),
    ],
    "email": [("inform", "{title}, {name}@{domain}")],
}
# The Lead field each question fills (Lead.raw keeps the visitor's words under it).
LEAD_FIELDS = {"need": "need_text", "timeline": "timeline_months"}
# The domain entity an answer fills, where the NLU has one for it.
ENTITIES = {"role": "role", "company_size": "company_size", "timeline": "timeline", "email": "email"}
OPENERS = [
    ("greet", "hi"),
    ("greet", "hello there"),
    ("request_demo", "I'd like a demo"),
    ("faq_pricing", "how much does it cost?"),
    ("faq_integrations", "do you work with Salesforce?"),
]
# What the bot fails to understand: a few recurring themes written many ways.
FALLBACK_TEXTS = [
    "Do you integrate with {tool}?",
    "do you integrate with {tool}",
    "Does it integrate with {tool}??",
    "Is there a free trial?",
    "is there a free trial",
    "Is there a FREE trial!",
    "Where are your servers located?",
    "where are the servers located",
    "Are you GDPR compliant?",
    "are you gdpr compliant",
    "Can I talk to a human",
    "can i talk to a human please",
    "What's the weather like",
    "asdf",
    "Do you have an API?",
    "do you have an api",
    "I forgot my password",
    "i forgot my password!!",
    "Is it SOC 2 certified?",
    "is it soc2 certified",
]
TOOLS = ["Salesforce", "HubSpot", "Pipedrive", "Slack"]


@dataclass(frozen=True)
class Channel:
    weight: int
    utm: dict
    referrer: str
    landing: list[str]
    quality: float  # multiplies the chance of qualifying and booking


CHANNELS = [
    Channel(
        30,
        {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"},
        "https://www.google.com/",
        ["/pricing", "/demo"],
        1.3,
    ),
    Channel(
        15,
        {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "generic-crm"},
        "https://www.google.com/",
        ["/features", "/pricing"],
        0.8,
    ),
    Channel(
        12,
        {"utm_source": "linkedin", "utm_medium": "paid_social", "utm_campaign": "abm-q4"},
        "https://www.linkedin.com/",
        ["/demo", "/customers"],
        1.2,
    ),
    Channel(
        6,
        {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "november-digest"},
        "",
        ["/blog/lead-forms-are-dead", "/features"],
        0.9,
    ),
    Channel(
        20,
        {},
        "https://www.google.com/search?q=conversation+lead+qualification",
        ["/", "/blog/lead-forms-are-dead"],
        0.8,
    ),
    Channel(5, {}, "https://www.g2.com/products/northwind-pipeline/reviews", ["/pricing", "/"], 1.4),
    Channel(12, {}, "", ["/", "/careers", "/docs"], 0.6),
]
FIRST_NAMES = ["ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena"]
DOMAINS = ["acme.example", "globex.example", "initech.example", "umbrella.example", "hooli.example", "gmail.com"]
REP_NAMES = ["Alice Novak", "Bruno Silva", "Chloe Martin", "Deepak Rao", "Emma Schulz", "Farid Haddad", "Grace Kim"]


@dataclass(frozen=True)
class BotDomain:
    """What the demo conversations take from the bot's own domain files: its intents and replies."""

    intents: frozenset[str]
    entities: frozenset[str]
    responses: dict[str, list[dict]]

    def text(self, response: str, variation: int = 0) -> str:
        variations = self.responses[response]
        return variations[min(variation, len(variations) - 1)]["text"]

    def buttons(self, response: str, variation: int = 0) -> list[dict]:
        variations = self.responses[response]
        return variations[min(variation, len(variations) - 1)].get("buttons") or []


def bot_domain() -> BotDomain:
    """The Rasa domain (chatbot/bot/domain/*.yml), merged as Rasa merges the split files."""
    intents, entities, responses = set(), set(), {}
    for path in sorted((settings.BASE_DIR / "chatbot/bot/domain").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        intents.update(name if isinstance(name, str) else next(iter(name)) for name in document.get("intents") or [])
        entities.update(name if isinstance(name, str) else next(iter(name)) for name in document.get("entities") or [])
        responses.update(document.get("responses") or {})
    return BotDomain(intents=frozenset(intents), entities=frozenset(entities), responses=responses)


@dataclass
class Tables:
    """Rows to write, per model, as {column attname: value} dicts with explicit ids."""

    rows: dict = field(
        default_factory=lambda: {m: [] for m in (Visitor, Conversation, Message, Lead, SlotOffer, Meeting)}
    )
    next_id: dict = field(default_factory=dict)

    def add(self, model, **values) -> int:
        pk = self.next_id[model]
        self.next_id[model] = pk + 1
        self.rows[model].append({"id": pk, **values})
        return pk


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _max_id(model) -> int:
    return model.objects.aggregate(m=models.Max("pk"))["m"] or 0


def _ensure_sites_and_reps(rng: random.Random, sites: int, reps: int) -> tuple[list[Site], list[SalesRep]]:
    site_objs = []
    for n in range(sites):
        site, _ = Site.objects.get_or_create(
            name=f"Demo site {n + 1}",
            defaults={
                "embed_key": f"site_demo_{n + 1}_{rng.getrandbits(40):010x}",
                "allowed_origins": f"https://www{n + 1}.northwind.example",
            },
        )
        site_objs.append(site)
    rep_objs = []
    for n in range(reps):
        name = REP_NAMES[n % len(REP_NAMES)] + ("" if n < len(REP_NAMES) else f" {n // len(REP_NAMES) + 1}")
        rep, _ = SalesRep.objects.get_or_create(
            name=name,
            defaults={
                "email": name.lower().replace(" ", ".") + "@northwind.example",
                "timezone": rng.choice(["Europe/Berlin", "America/New_York", "Europe/London", "Asia/Singapore"]),
                "feed_token": f"demo-feed-{rng.getrandbits(96):024x}",
            },
        )
        rep_objs.append(rep)
    return site_objs, rep_objs


# Conversations generated between two writes (their rows are then dropped from memory).
WRITE_EVERY = 20_000


def generate(*, conversations: int, days: int, seed: int, end: dt.date, sites: int = 3, reps: int = 6) -> dict:
    """Generate and write the demo data; returns the number of rows written per table."""
    rng = random.Random(seed)
    site_objs, rep_objs = _ensure_sites_and_reps(rng, sites, reps)
    tables = Tables()
    for model in tables.rows:
        tables.next_id[model] = _max_id(model) + 1
    first_conversation_id = tables.next_id[Conversation]
    end_at = dt.datetime.combine(end, dt.time.min, tzinfo=dt.timezone.utc)
    start_at = end_at - dt.timedelta(days=days)
    now = dt.datetime.now(dt.timezone.utc)
    rep_busy: dict[int, set] = {rep.pk: set() for rep in rep_objs}
    channel_weights = [c.weight for c in CHANNELS]
    replies = bot_domain()
    written = {model._meta.label: 0 for model in tables.rows}
    with transaction.atomic():
        for n in range(conversations):
            _conversation(rng, tables, replies, site_objs, rep_objs, rep_busy, start_at, days, now, channel_weights)
            if (n + 1) % WRITE_EVERY == 0 or n + 1 == conversations:
                # written as it goes: a million conversations (ten million messages) never sit in memory at once
                for model, rows in tables.rows.items():
                    _write(model, rows)
                    written[model._meta.label] += len(rows)
                    rows.clear()
        _after_bulk_load(list(tables.rows))
    # The rows carry their generated (old) timestamps, which a refresh would not see as new.
    rollups.refresh(conversations=Conversation.objects.filter(pk__gte=first_conversation_id))
    return written


def _conversation(rng, tables, replies, site_objs, rep_objs, rep_busy, start_at, days, now, channel_weights) -> None:
    channel = rng.choices(CHANNELS, weights=channel_weights)[0]
    site = rng.choice(site_objs)
    # More chats on weekdays and in office hours.
    while True:
        started = start_at + dt.timedelta(seconds=rng.uniform(0, days * 86400))
        if started.weekday() < 5 or rng.random() < 0.4:
            break
    path = rng.choice(channel.landing)
    query = "&".join(f"{k}={v}" for k, v in channel.utm.items())
    page_url = f"https://www.northwind.example{path}" + (f"?{query}" if query else "")
    visitor_id = tables.add(
        Visitor, site_id=site.pk, token=f"demo-{rng.getrandbits(128):032x}", first_seen=started, last_seen=started
    )
    conversation_id = tables.next_id[Conversation]
    t = started
    messages: list[dict] = []

    def say(
        sender: str, text: str, *, intent: str = "", confidence=None, entities=None, asked_slot: str = "", buttons=None
    ):
        nonlocal t
        messages.append(
            {
                "conversation_id": conversation_id,
                "sender": sender,
                "text": text,
                "buttons": buttons or [],
                "client_id": "",
                "intent": intent,
                "confidence": confidence,
                "entities": entities or [],
                "asked_slot": asked_slot,
                "delivery": "delivered" if sender == Message.Sender.VISITOR else "",
                "created_at": t,
            }
        )

    def visitor(text: str, intent: str, entities=None):
        nonlocal t
        t += dt.timedelta(seconds=rng.uniform(4, 90))
        confidence = rng.uniform(0.2, 0.45) if intent == "nlu_fallback" else rng.uniform(0.6, 0.99)
        say(Message.Sender.VISITOR, text, intent=intent, confidence=round(confidence, 3), entities=entities)

    def bot(text: str, asked_slot: str = "", buttons=None):
        nonlocal t
        t += dt.timedelta(seconds=rng.uniform(0.5, 2.5))
        say(Message.Sender.BOT, text, asked_slot=asked_slot, buttons=buttons)

    def fallback():
        text = rng.choice(FALLBACK_TEXTS).format(tool=rng.choice(TOOLS))
        visitor(text, "nlu_fallback" if rng.random() < 0.7 else "out_of_scope")
        bot(replies.text("utter_please_rephrase"))

    def ask(question: str, variation: int = 0):
        response = f"utter_ask_{question}"
        bot(replies.text(response, variation), asked_slot=question, buttons=replies.buttons(response, variation))

    bot(replies.text("utter_greet"))
    lead: dict | None = None
    outcome = None
    name, domain = rng.choice(FIRST_NAMES), rng.choice(DOMAINS)
    company = domain.split(".")[0].title() if domain != "gmail.com" else "Freelance"
    if rng.random() < 0.78:  # engaged
        if rng.random() < 0.12:
            fallback()
        intent, text = rng.choice(OPENERS)
        visitor(text, intent)
        if intent.startswith("faq_"):
            bot(replies.text(f"utter_{intent}"))
        elif intent == "request_demo":
            bot(replies.text("utter_demo_first"))
        answered_all = True
        for question in QUESTIONS:
            ask(question)
            if rng.random() < DROP_AT[question] / max(channel.quality, 0.5) ** 0.5:
                answered_all = False
                break
            if rng.random() < 0.06:  # not understood, asked again in the other wording
                fallback()
                ask(question, variation=1)
            intent, answer = rng.choice(ANSWERS[question])
            answer = answer.format(name=name, title=name.title(), domain=domain, company=company)
            entity = ENTITIES.get(question)
            value = f"{name}@{domain}" if question == "email" else answer
            visitor(answer, intent, entities=[{"entity": entity, "value": value}] if entity else [])
            if lead is None:
                lead = {"raw": {}}
            lead["raw"][LEAD_FIELDS.get(question, question)] = answer
        if lead is not None:
            lead["email"] = f"{name}@{domain}" if "email" in lead["raw"] else ""
            if answered_all:
                p_qualified = min(0.85, 0.42 * channel.quality)
                roll = rng.random()
                outcome = (
                    "qualified" if roll < p_qualified else ("nurture" if roll < p_qualified + 0.3 else "disqualified")
                )
                lead["decided_at"] = t
            else:
                outcome = "incomplete"
            lead["outcome"] = outcome
    lead_id = None
    if lead is not None:
        score = {"qualified": rng.randint(60, 100), "nurture": rng.randint(30, 59), "disqualified": rng.randint(0, 29)}
        lead_id = tables.add(
            Lead,
            conversation_id=conversation_id,
            visitor_type="prospect",
            need_text=lead["raw"].get("need_text", ""),
            use_case="",
            company_name=lead["raw"].get("company_name", ""),
            company_size=rng.choice([5, 12, 50, 200, 1500]),
            industry="",
            country=rng.choice(["DE", "US", "GB", "FR", "SG"]),
            role=lead["raw"].get("role", ""),
            authority="",
            timeline_months=None,
            buying_stage="",
            budget="",
            budget_amount=None,
            name=name.title() if lead["email"] else "",
            email=lead["email"],
            email_flag="free_mail" if domain == "gmail.com" else "",
            raw=lead["raw"],
            score=score.get(outcome, 0),
            outcome=outcome,
            reasons=[{"rule": None, "text": "company size ≥ 20", "points": 20, "knockout": False}]
            if outcome == "qualified"
            else [],
            rule_set_version="demo",
            consent_email_followup=False,
            consent_marketing=False,
            decided_at=lead.get("decided_at"),
            created_at=started,
            updated_at=t,
        )
    if outcome == "qualified" and rng.random() < 0.9:
        bot(replies.text("utter_qualified_intro"))
        rep = rng.choice(rep_objs)
        slots = []
        first = (t + dt.timedelta(days=rng.randint(1, 6))).replace(minute=0, second=0, microsecond=0)
        for k in range(3):
            slots.append({"rep": rep.pk, "start": (first + dt.timedelta(hours=2 * k)).isoformat()})
        bot("Here are some times that work:", buttons=[{"title": s["start"], "payload": s["start"]} for s in slots])
        tables.add(SlotOffer, conversation_id=conversation_id, created_at=t, slots=slots, preference_text="")
        if rng.random() < min(0.9, 0.62 * channel.quality):
            visitor(slots[0]["start"], "choose_slot")
            start = dt.datetime.fromisoformat(slots[0]["start"])
            while start in rep_busy[rep.pk]:
                start += dt.timedelta(hours=1)
            rep_busy[rep.pk].add(start)
            if start < now:
                status = rng.choices(["held", "no_show", "cancelled"], weights=[75, 15, 10])[0]
            else:
                status = rng.choices(["booked", "cancelled"], weights=[90, 10])[0]
            bot(f"You're booked with {rep.name}.")
            tables.add(
                Meeting,
                public_id=_uuid(rng),
                rep_id=rep.pk,
                lead_id=lead_id,
                conversation_id=conversation_id,
                start=start,
                end=start + dt.timedelta(minutes=30),
                status=status,
                visitor_name=name.title(),
                visitor_email=lead["email"] if lead else "",
                visitor_email_domain=domain,
                visitor_timezone="Europe/Berlin",
                calendar_uid=f"{_uuid(rng)}@leadbot",
                sequence=0,
                sync_state="not_connected",
                sync_error="",
                synced_at=None,
                reminder_24h_sent_at=None,
                reminder_1h_sent_at=None,
                created_at=t,
                updated_at=t,
                cancelled_at=t + dt.timedelta(days=1) if status == "cancelled" else None,
            )
    tables.add(
        Conversation,
        public_id=_uuid(rng),
        site_id=site.pk,
        visitor_id=visitor_id,
        started_at=started,
        last_activity_at=t,
        page_url=page_url,
        referrer=channel.referrer,
        utm=channel.utm,
        timezone="Europe/Berlin",
        status="closed",
        handoff_requested=rng.random() < 0.03,
    )
    for message in messages:
        tables.add(Message, **message)


def _ordered(model, rows: list[dict]) -> Iterator[tuple]:
    """Each row's values in column order; a field the generator does not know gets its default."""
    fields = model._meta.concrete_fields
    defaults = {f.attname: f.get_default() for f in fields if not f.has_default() or not callable(f.default)}
    for row in rows:
        yield tuple(row[f.attname] if f.attname in row else _default(f, defaults) for f in fields)


def _default(field, defaults: dict):
    if field.attname in defaults:
        return defaults[field.attname]
    return field.get_default()  # callable default (e.g. a token): called per row


def _write(model, rows: list[dict]) -> None:
    """COPY on PostgreSQL (JSON written as text); bulk_create in batches elsewhere."""
    if not rows:
        return
    fields = model._meta.concrete_fields
    if connection.vendor == "postgresql":
        json_columns = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
        column_list = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {model._meta.db_table} ({column_list}) FROM STDIN") as copy:
                for values in _ordered(model, rows):
                    copy.write_row([json.dumps(v) if i in json_columns else v for i, v in enumerate(values)])
        return
    # bulk_create would stamp auto_now(_add) fields with the current time: keep the generated times.
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in stamped]
    for f in stamped:
        f.auto_now = f.auto_now_add = False
    try:
        batch = 5000
        for offset in range(0, len(rows), batch):
            model.objects.bulk_create([model(**row) for row in rows[offset : offset + batch]])
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _after_bulk_load(model_list) -> None:
    """PostgreSQL: move the id sequences past the explicit ids, and refresh the planner's statistics."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in model_list:
            table = model._meta.db_table
            # Fresh statistics: the planner should not mistake a just-filled table for an empty one.
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
