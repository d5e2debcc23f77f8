"""Pages a visitor reaches from their email (no account: a signed link), and the reps' ICS feeds.

Views stay thin: read the token, call a selector or a service, render. A bad, expired or
superseded link, or a meeting that can no longer change, gets a page that says so
(400 / 410), never a server error.
"""

import datetime as dt
from collections import OrderedDict

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from config import zones
from scheduling import services
from scheduling.errors import SchedulingError
from scheduling.ics import rep_feed
from scheduling.models import Meeting, SalesRep
from scheduling.notifications import transcript_prefetch
from scheduling.selectors import rep_free_slots
from scheduling.tokens import meeting_from_token, meeting_token

ERROR_STATUS = {"link_invalid": 400, "link_expired": 410, "meeting_not_active": 410}
FEED_PAST_DAYS = 30
RESCHEDULE_MAX_DAYS_SHOWN = 14


def _error_page(request: HttpRequest, error: SchedulingError) -> HttpResponse:
    status = ERROR_STATUS.get(error.code, 400)
    return render(request, "scheduling/link_error.html", {"code": error.code}, status=status)


def _meeting_or_error(request: HttpRequest, token: str) -> Meeting | HttpResponse:
    try:
        return meeting_from_token(token)
    except SchedulingError as error:
        return _error_page(request, error)


def _is_changeable(meeting: Meeting, now: dt.datetime) -> bool:
    return meeting.status == Meeting.Status.BOOKED and meeting.start > now


def _meeting_context(meeting: Meeting, **extra) -> dict:
    return {
        "meeting": meeting,
        "rep": meeting.rep,
        "zone_name": zones.zone_name(meeting.visitor_timezone),
        "when": zones.span_text(meeting.start, meeting.end, meeting.visitor_timezone),
        "token": meeting_token(meeting),
        **extra,
    }


def _manage_redirect(meeting: Meeting, done: str) -> HttpResponse:
    return redirect(reverse("scheduling:manage", args=[meeting_token(meeting)]) + f"?done={done}")


@require_GET
def manage(request: HttpRequest, token: str) -> HttpResponse:
    meeting = _meeting_or_error(request, token)
    if isinstance(meeting, HttpResponse):
        return meeting
    now = timezone.now()
    return render(
        request,
        "scheduling/manage.html",
        _meeting_context(
            meeting,
            changeable=_is_changeable(meeting, now),
            is_past=meeting.end <= now,
            done=request.GET.get("done", ""),
        ),
    )


def _slot_days(meeting: Meeting, now: dt.datetime) -> list[dict]:
    """The rep's free slots, grouped by the visitor's calendar day, labelled in the visitor's zone."""
    zone = meeting.visitor_timezone
    rep = meeting.rep
    slots = rep_free_slots(rep=rep, start=now, end=now + dt.timedelta(days=rep.horizon_days), now=now)
    days: OrderedDict[dt.date, dict] = OrderedDict()
    for slot in slots:
        day = zones.local_time(slot.start, zone).date()
        if day not in days:
            if len(days) >= RESCHEDULE_MAX_DAYS_SHOWN:
                break
            days[day] = {"label": zones.day_long_text(day), "slots": []}
        days[day]["slots"].append(
            {"value": slot.start.astimezone(dt.timezone.utc).isoformat(), "label": zones.clock_text(slot.start, zone)}
        )
    return list(days.values())


@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    meeting = _meeting_or_error(request, token)
    if isinstance(meeting, HttpResponse):
        return meeting
    now = timezone.now()
    if not _is_changeable(meeting, now):
        return _error_page(request, SchedulingError("meeting_not_active"))
    error, status = "", 200
    if request.method == "POST":
        try:
            start = dt.datetime.fromisoformat(request.POST.get("start", ""))
            if start.tzinfo is None:
                raise ValueError("naive time")
        except ValueError:
            error, status = "pick_a_time", 400
        else:
            try:
                meeting = services.meeting_reschedule(meeting=meeting, start=start, now=now)
            except SchedulingError as exc:
                if exc.code == "meeting_not_active":
                    return _error_page(request, exc)
                error, status = exc.code, 409
            else:
                return _manage_redirect(meeting, "rescheduled")
    return render(
        request,
        "scheduling/reschedule.html",
        _meeting_context(meeting, days=_slot_days(meeting, now), error=error),
        status=status,
    )


@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    meeting = _meeting_or_error(request, token)
    if isinstance(meeting, HttpResponse):
        return meeting
    if not _is_changeable(meeting, timezone.now()):
        return _error_page(request, SchedulingError("meeting_not_active"))
    if request.method == "POST":
        try:
            meeting = services.meeting_cancel(meeting=meeting, reason=request.POST.get("reason", "")[:500])
        except SchedulingError as exc:
            return _error_page(request, exc)
        return _manage_redirect(meeting, "cancelled")
    return render(request, "scheduling/cancel.html", _meeting_context(meeting))


@require_GET
def calendar_feed(request: HttpRequest, feed_token: str) -> HttpResponse:
    """A rep's secret read-only subscription feed of their meetings (any calendar app)."""
    rep = get_object_or_404(SalesRep, feed_token=feed_token, is_active=True)
    since = timezone.now() - dt.timedelta(days=FEED_PAST_DAYS)
    meetings = (
        Meeting.objects.select_related("rep", "lead")
        .prefetch_related(transcript_prefetch())
        .filter(rep=rep, end__gte=since)
        .exclude(status=Meeting.Status.CANCELLED)
        .order_by("start")
    )
    response = HttpResponse(rep_feed(rep, meetings), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="meetings.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
