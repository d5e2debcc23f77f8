"""Which reps a lead goes to: account owner, then routing rules in priority order, then the default pool.

A rule's condition means what it means in scoring (``qualification.rules``): same facts, operators,
and handling of empty facts.

Inside a pool the order is fair round robin: fewest live meetings booked in the last
``FAIRNESS_DAYS`` days divided by the rep's weight first (a weight-2 rep takes twice the
meetings), ties to the rep who booked least recently. ``slots_for_lead`` then gives each
time to the first rep in this order who is free then, so reps without a free slot are
skipped rather than starving the others. A rep with weight 0 receives no round-robin
meetings (only meetings of accounts they already own).
"""

import zoneinfo
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from chatbot.models import Conversation
from qualification.models import Lead
from qualification.parsing import email_flag
from qualification.rules import condition_matches, lead_facts
from scheduling.models import Meeting, RoutingRule, SalesRep

FAIRNESS_DAYS = 30


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower() if "@" in email else ""


def rule_matches(rule: RoutingRule, *, lead: Lead | None, conversation: Conversation | None) -> bool:
    """Does the rule take this lead? A rule without a field takes every lead."""
    if not rule.field:
        return True
    facts = lead_facts(lead, conversation=conversation)
    return condition_matches(field=rule.field, operator=rule.operator, value=rule.value, facts=facts)


def account_owner(*, email: str) -> SalesRep | None:
    """The active rep who most recently met someone from this email's company domain."""
    domain = email_domain(email)
    if not domain or email_flag(domain):
        return None  # a mailbox provider (free or disposable) says nothing about which account it is
    meeting = (
        Meeting.objects.filter(visitor_email_domain=domain, rep__is_active=True)
        .exclude(status=Meeting.Status.CANCELLED)
        .select_related("rep")
        .order_by("-start")
        .first()
    )
    return meeting.rep if meeting else None


def fairness_order(reps: list[SalesRep], *, now: datetime | None = None) -> list[SalesRep]:
    """Fewest recent live bookings per unit of weight first; one query."""
    now = now or timezone.now()
    since = now - timedelta(days=FAIRNESS_DAYS)
    live_recent = Q(meetings__created_at__gte=since) & ~Q(meetings__status=Meeting.Status.CANCELLED)
    stats = {
        row["pk"]: row
        for row in SalesRep.objects.filter(pk__in=[r.pk for r in reps])
        .annotate(recent=Count("meetings", filter=live_recent), last=Max("meetings__created_at", filter=live_recent))
        .values("pk", "recent", "last")
    }
    never = datetime.min.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))

    def key(rep: SalesRep) -> tuple:
        row = stats.get(rep.pk, {"recent": 0, "last": None})
        return (row["recent"] / rep.weight, row["last"] or never, rep.pk)

    return sorted((r for r in reps if r.weight > 0), key=key)


def route_lead(
    *, lead: Lead | None, conversation: Conversation | None = None, now: datetime | None = None
) -> list[SalesRep]:
    """The ordered pool for a lead: account owner first, else the first matching rule's reps, else the default."""
    owner, ordered = route_lead_with_owner(lead=lead, conversation=conversation, now=now)
    return ordered


def route_lead_with_owner(
    *, lead: Lead | None, conversation: Conversation | None = None, now: datetime | None = None
) -> tuple[SalesRep | None, list[SalesRep]]:
    """``route_lead`` that also says which rep (if any) owns the account; 4 queries at most."""
    rules = list(RoutingRule.objects.filter(is_active=True).prefetch_related("reps").order_by("priority", "id"))
    pool: list[SalesRep] = []
    for rule in [r for r in rules if not r.is_default] + [r for r in rules if r.is_default]:
        active = [rep for rep in rule.reps.all() if rep.is_active]
        if active and (rule.is_default or rule_matches(rule, lead=lead, conversation=conversation)):
            pool = active
            break
    if not rules or not pool:
        # No routing set up yet: every active rep is the pool.
        pool = pool or list(SalesRep.objects.filter(is_active=True))
    ordered = fairness_order(pool, now=now)
    owner = account_owner(email=lead.email) if lead is not None and lead.email else None
    if owner is not None:
        ordered = [owner] + [rep for rep in ordered if rep.pk != owner.pk]
    return owner, ordered
