"""Keeping reps' real calendars and our meetings in step.

- ``meeting_calendar_sync`` writes one meeting to its rep's calendar (create/update by the
  meeting's stable UID, delete when cancelled) and records the outcome in
  ``Meeting.sync_state``: a calendar that is down leaves the meeting ``failed`` with the
  error, and ``meetings_sync_unsynced`` (periodic) tries again. The meeting itself is
  never lost: it is stored before any calendar is called.
- ``calendar_refresh_busy`` replaces a rep's cached BusyBlock rows from their calendar,
  which availability subtracts from working hours.
- A calendar whose OAuth grant was revoked or expired (CalendarGrantRevoked) is marked so on
  its connection (``grant_state``), shown in admin; its meetings wait, ``failed``, until the
  account is connected again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling.calendars import BusyTime, CalendarGrantRevoked, CalendarUnavailable, calendar_for
from scheduling.models import BusyBlock, CalendarConnection, Meeting, SalesRep

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000
# Versions one sync writes when the meeting keeps changing under it (each change queues its own sync too).
MAX_VERSIONS_PER_SYNC = 3


def _active_connection(rep: SalesRep) -> CalendarConnection | None:
    return CalendarConnection.objects.select_related("rep").filter(rep=rep, is_active=True).first()


def _same_version(meeting: Meeting) -> Q:
    # A state is recorded only for the version that was written: if the meeting moved while
    # the write was in flight, the newer change's own task records its outcome.
    return Q(pk=meeting.pk, sequence=meeting.sequence, status=meeting.status, start=meeting.start, end=meeting.end)


def meeting_calendar_sync(*, meeting: Meeting, now: dt.datetime | None = None) -> Meeting:
    """Write the meeting to its rep's calendar; raises CalendarUnavailable after recording ``failed``.

    Safe to run any number of times: the event is put at the meeting's UID, and deleting
    an event that is not there is not an error. If the meeting changes while its event is
    being written (a cancel racing a booking's write), the newer version is written too,
    so the calendar never ends on an older one.
    """
    now = now or timezone.now()
    for _attempt in range(MAX_VERSIONS_PER_SYNC):
        meeting = Meeting.objects.select_related("rep", "lead").get(pk=meeting.pk)
        connection = _active_connection(meeting.rep)
        # Conditional UPDATEs rather than save(): only the sync columns change, and only for the
        # version of the meeting that was actually written (see _same_version).
        if connection is None:
            Meeting.objects.filter(pk=meeting.pk).update(sync_state=Meeting.SyncState.NOT_CONNECTED, sync_error="")
            meeting.sync_state, meeting.sync_error = Meeting.SyncState.NOT_CONNECTED, ""
            return meeting
        backend = calendar_for(connection)
        try:
            if meeting.status == Meeting.Status.CANCELLED:
                backend.delete_event(meeting)
            else:
                backend.upsert_event(meeting)
        except CalendarUnavailable as exc:
            error = str(exc)[:MAX_ERROR_LENGTH]
            Meeting.objects.filter(_same_version(meeting)).update(sync_state=Meeting.SyncState.FAILED, sync_error=error)
            _record_connection_error(connection, exc)
            meeting.sync_state, meeting.sync_error = Meeting.SyncState.FAILED, error
            logger.warning("Calendar write for meeting %s failed: %s", meeting.pk, error)
            raise
        CalendarConnection.objects.filter(pk=connection.pk).update(last_error="")
        written = Meeting.objects.filter(_same_version(meeting)).update(
            sync_state=Meeting.SyncState.SYNCED, sync_error="", synced_at=now
        )
        if written:
            meeting.sync_state, meeting.sync_error, meeting.synced_at = Meeting.SyncState.SYNCED, "", now
            return meeting
    return meeting  # still changing: the newest change's own task writes it


def _record_connection_error(connection: CalendarConnection, exc: CalendarUnavailable) -> None:
    error = str(exc)[:MAX_ERROR_LENGTH]
    CalendarConnection.objects.filter(pk=connection.pk).update(last_error=error)
    if isinstance(exc, CalendarGrantRevoked):
        # Only the change from valid to revoked emails the rep (once), not every failed retry.
        revoked = (
            CalendarConnection.objects.filter(pk=connection.pk)
            .exclude(grant_state=CalendarConnection.GrantState.REVOKED)
            .update(grant_state=CalendarConnection.GrantState.REVOKED)
        )
        if revoked:
            from scheduling import tasks

            connection_id = connection.pk
            transaction.on_commit(lambda: tasks.calendar_grant_revoked_notify.delay(connection_id))


def _without_own_meetings(busy: list[BusyTime], rep: SalesRep, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
    """Busy times that name no event (free/busy answers) minus the rep's own live meetings.

    Availability counts our meetings already; a busy block left where a meeting was would
    keep a cancelled or moved meeting's time blocked until the next refresh.
    """
    meetings = list(
        Meeting.objects.filter(rep=rep, status=Meeting.Status.BOOKED, start__lt=end, end__gt=start)
        .order_by("start")
        .values_list("start", "end")
    )
    if not meetings:
        return busy
    kept = []
    for block in busy:
        if block.uid:
            kept.append(block)
            continue
        pieces = [(block.start, block.end)]
        for m_start, m_end in meetings:
            pieces = [
                piece
                for p_start, p_end in pieces
                for piece in ((p_start, min(p_end, m_start)), (max(p_start, m_end), p_end))
                if piece[1] > piece[0]
            ]
        kept.extend(BusyTime(start=p_start, end=p_end) for p_start, p_end in pieces)
    return kept


@dataclass
class SyncRun:
    synced: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def meetings_needing_sync(*, now: dt.datetime):
    """Meetings whose calendar write is pending or failed (or whose rep connected a calendar since)."""
    # A meeting long over needs no calendar write (not even the removal of a cancelled one).
    recent = Q(end__gte=now - dt.timedelta(days=1))
    unsynced = Q(sync_state__in=[Meeting.SyncState.PENDING, Meeting.SyncState.FAILED])
    newly_connected = Q(
        sync_state=Meeting.SyncState.NOT_CONNECTED, rep__calendar__is_active=True, status=Meeting.Status.BOOKED
    )
    return Meeting.objects.filter(recent & (unsynced | newly_connected)).order_by("start")


def meetings_sync_unsynced(*, now: dt.datetime | None = None, limit: int = 500) -> SyncRun:
    """Retry every unsynced meeting; one calendar that is still down is tried once per run."""
    now = now or timezone.now()
    run = SyncRun()
    down_reps: set[int] = set()
    for meeting in meetings_needing_sync(now=now)[:limit]:
        if meeting.rep_id in down_reps:
            run.skipped.append(meeting.pk)
            continue
        try:
            meeting_calendar_sync(meeting=meeting, now=now)
        except CalendarUnavailable:
            down_reps.add(meeting.rep_id)
            run.failed.append(meeting.pk)
        else:
            run.synced.append(meeting.pk)
    return run


def calendar_refresh_busy(*, rep: SalesRep, start: dt.datetime, end: dt.datetime) -> int:
    """Replace the rep's BusyBlock rows in [start, end) with the busy times on their calendar.

    Our own meetings' events (by UID) are left out: availability already counts meetings.
    Returns the number of blocks stored. Raises CalendarUnavailable (keeping the old
    blocks) when the calendar cannot be read.
    """
    connection = _active_connection(rep)
    if connection is None:
        return 0
    try:
        busy = calendar_for(connection).busy_times(start, end)
    except CalendarUnavailable as exc:
        _record_connection_error(connection, exc)
        raise
    busy = _without_own_meetings(busy, rep, start, end)
    uids = {b.uid for b in busy if b.uid}
    own_uids = set(Meeting.objects.filter(calendar_uid__in=uids).values_list("calendar_uid", flat=True))
    blocks = [
        BusyBlock(rep=rep, start=b.start, end=b.end, source_uid=b.uid[:500])
        for b in busy
        if b.uid not in own_uids or not b.uid
    ]
    for block in blocks:
        block.full_clean(exclude=["rep"])
    with transaction.atomic():
        BusyBlock.objects.filter(rep=rep, start__lt=end, end__gt=start).delete()
        BusyBlock.objects.bulk_create(blocks)
        CalendarConnection.objects.filter(pk=connection.pk).update(last_synced_at=timezone.now(), last_error="")
    return len(blocks)


def rep_refresh_busy_horizon(*, rep: SalesRep, now: dt.datetime | None = None) -> int:
    """Refresh the rep's busy times over the window visitors can book (their horizon)."""
    now = now or timezone.now()
    return calendar_refresh_busy(
        rep=rep, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(days=rep.horizon_days + 1)
    )
