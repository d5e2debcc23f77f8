"""Which rows a staff user may read, and which decisions they may change.

The rules (the one place they are written down):

- **Superusers and the Marketing group see everything.** Marketing reads the whole funnel.
- **Everyone else sees only what belongs to their own rep profile** (``SalesRep.user``): the
  meetings booked with that rep, and the conversations, messages, leads and visitors behind those
  meetings. A user with no rep profile sees none of them. This is closed by default: a staff
  user given view permissions ad hoc, in neither group, is scoped too, so a forgotten group
  never opens every visitor's data. Permissions still decide *which pages* a user reaches; these
  selectors decide *which rows* are on them.
- **Reports** (the dashboard, "what the bot didn't understand") add up every rep's visitors, so
  only users who see everything reach them, whatever permissions a Sales user is given. A rep's
  own figures are their meetings list, which they already have.
- **Routing** (a rep's round-robin weight, whether they take meetings, their email and login)
  is changed only by whoever may change routing rules; a rep edits the rest of their own profile
  (hours, time off, booking limits) and no one else's.

Every selector takes the user keyword-only and, optionally, the queryset to narrow (an admin's
annotated queryset); without one it starts from all rows.
"""

from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q, QuerySet

from access.groups import MARKETING
from chatbot.models import Conversation, Message, Visitor
from qualification.models import Lead
from scheduling.models import Meeting, SalesRep

FULL_VIEW_GROUPS = (MARKETING,)
REPORTS_PERMISSION = "analytics.view_dashboard"
ROUTING_PERMISSION = "scheduling.change_routingrule"


def sees_everything(user) -> bool:
    """Superusers and members of the Marketing group (remembered on the user object for the request)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_access_sees_everything", None)
    if cached is None:
        cached = user.groups.filter(name__in=FULL_VIEW_GROUPS).exists()
        user._access_sees_everything = cached
    return cached


def user_rep(user) -> SalesRep | None:
    """The rep profile linked to this login, if any."""
    if not user.is_authenticated:
        return None
    try:
        return user.sales_rep
    except SalesRep.DoesNotExist:
        return None


def _own_meetings(rep: SalesRep) -> QuerySet[Meeting]:
    return Meeting.objects.filter(rep=rep)


def _narrowed(user, model, queryset: QuerySet | None, own_rows: Callable[[SalesRep], Q | Exists]) -> QuerySet:
    """The rule, once: every row for who sees everything; else the rows ``own_rows`` gives the user's rep; else none."""
    queryset = model.objects.all() if queryset is None else queryset
    if sees_everything(user):
        return queryset
    rep = user_rep(user)
    return queryset.filter(own_rows(rep)) if rep is not None else queryset.none()


def visible_meetings(*, user, queryset: QuerySet[Meeting] | None = None) -> QuerySet[Meeting]:
    return _narrowed(user, Meeting, queryset, lambda rep: Q(rep=rep))


def visible_conversations(*, user, queryset: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
    return _narrowed(
        user, Conversation, queryset, lambda rep: Exists(_own_meetings(rep).filter(conversation=OuterRef("pk")))
    )


def visible_messages(*, user, queryset: QuerySet[Message] | None = None) -> QuerySet[Message]:
    return _narrowed(
        user, Message, queryset, lambda rep: Exists(_own_meetings(rep).filter(conversation=OuterRef("conversation")))
    )


def visible_leads(*, user, queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """Leads of the user's conversations, or linked to one of their meetings directly."""
    own = Q(lead=OuterRef("pk")) | Q(conversation=OuterRef("conversation"))
    return _narrowed(user, Lead, queryset, lambda rep: Exists(_own_meetings(rep).filter(own)))


def visible_visitors(*, user, queryset: QuerySet[Visitor] | None = None) -> QuerySet[Visitor]:
    return _narrowed(
        user, Visitor, queryset, lambda rep: Exists(_own_meetings(rep).filter(conversation__visitor=OuterRef("pk")))
    )


def visible_reps(*, user, queryset: QuerySet[SalesRep] | None = None) -> QuerySet[SalesRep]:
    """All reps for who sees everything; otherwise only the user's own profile (names of others included)."""
    return _narrowed(user, SalesRep, queryset, lambda rep: Q(pk=rep.pk))


def may_view_reports(*, user) -> bool:
    """The dashboard and "what the bot didn't understand": the permission, and sight of every row they add up."""
    return sees_everything(user) and user.has_perm(REPORTS_PERMISSION)


def may_change_routing(*, user) -> bool:
    """A rep's weight, active flag, email and login: whoever may change routing rules."""
    return user.is_active and user.has_perm(ROUTING_PERMISSION)


def may_change_rep(*, user, rep: SalesRep) -> bool:
    """Besides the model permission: a rep's profile is changed by its own rep, or by who manages routing."""
    return may_change_routing(user=user) or (user.is_authenticated and rep.user_id == user.pk)


def may_see_feed_link(*, user, rep: SalesRep) -> bool:
    """The ICS feed link is a bearer secret (it works without a login): its rep and superusers only."""
    return user.is_active and (user.is_superuser or (user.is_authenticated and rep.user_id == user.pk))
