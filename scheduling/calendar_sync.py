"""Keeping reps' real calendars and our meetings in step.

- ``meeting_calendar_sync`` writes one meeting to its rep's calendar (create/update by the
  meeting's stable UID, delete when cancelled) and records the outcome in
  ``Meeting.sync_state``: a calendar that is down leaves the meeting ``failed`` with the
  error, and ``meetings_sync_unsynced`` (periodic) tries again. The meeting itself is
  never lost: it is stored before any calendar is called.
- ``calendar_refresh_busy`` replaces a rep's cached BusyBlock rows from their calendar,
  which availability subtracts from working hours; ``reps_refresh_stale_busy`` does it, in
  parallel, for the reps whose cached busy times are older than ``SCHEDULING_BUSY_MAX_AGE_SECONDS``
  right before their slots are offered (a calendar that is down leaves its cache in use).
- ``calendar_follow_changes`` reads what the rep changed on their calendar (the backend's
  ``event_changes``) and makes the meetings follow: an event moved there moves the meeting, a
  deleted one cancels it, through the same services (and so the same emails) as a change made
  in admin.
- A calendar whose OAuth grant was revoked or expired (CalendarGrantRevoked) is marked so on
  its connection (``grant_state``), shown in admin; its meetings wait, ``failed``, until the
  account is connected again.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling.calendars import (
    BusyTime,
    CalendarGrantRevoked,
    CalendarUnavailable,
    EventChange,
    OAuthTokens,
    WrittenEvent,
    calendar_for,
    token_store,
)
from scheduling.errors import SchedulingError
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
        written = WrittenEvent()
        try:
            if meeting.status == Meeting.Status.CANCELLED:
                backend.delete_event(meeting)
            else:
                written = backend.upsert_event(meeting)
        except CalendarUnavailable as exc:
            error = str(exc)[:MAX_ERROR_LENGTH]
            Meeting.objects.filter(_same_version(meeting)).update(sync_state=Meeting.SyncState.FAILED, sync_error=error)
            _record_connection_error(connection, exc)
            meeting.sync_state, meeting.sync_error = Meeting.SyncState.FAILED, error
            logger.warning("Calendar write for meeting %s failed: %s", meeting.pk, error)
            raise
        CalendarConnection.objects.filter(pk=connection.pk).update(last_error="")
        # What the calendar named the event and the video meeting it made for it are kept with the meeting.
        event = {"calendar_event_id": written.event_id} if written.event_id else {}
        event |= {"video_join_url": written.join_url} if written.join_url else {}
        if Meeting.objects.filter(_same_version(meeting)).update(
            sync_state=Meeting.SyncState.SYNCED, sync_error="", synced_at=now, **event
        ):
            meeting.sync_state, meeting.sync_error, meeting.synced_at = Meeting.SyncState.SYNCED, "", now
            for name, value in event.items():
                setattr(meeting, name, value)
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


def _without_meetings(busy: list[BusyTime], meetings: list[tuple[dt.datetime, dt.datetime]]) -> list[BusyTime]:
    """Busy times that name no event (free/busy answers) minus the rep's own live ``meetings``.

    Availability counts our meetings already; a busy block left where a meeting was would
    keep a cancelled or moved meeting's time blocked until the next refresh.
    """
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
    return _store_busy([_BusyAnswer(connection=connection, busy=busy, start=start, end=end)])[rep.pk]


@dataclass(frozen=True)
class _BusyAnswer:
    connection: CalendarConnection
    busy: list[BusyTime]
    start: dt.datetime
    end: dt.datetime


def _store_busy(answers: list[_BusyAnswer]) -> dict[int, int]:
    """Replace the busy blocks of the answering reps, each over its own window, in one transaction and a
    constant number of queries however many reps answered. Returns the blocks stored, by rep id."""
    if not answers:
        return {}
    rep_ids = [a.connection.rep_id for a in answers]
    low, high = min(a.start for a in answers), max(a.end for a in answers)
    meetings: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {rep_id: [] for rep_id in rep_ids}
    for rep_id, m_start, m_end in (
        Meeting.objects.filter(rep_id__in=rep_ids, status=Meeting.Status.BOOKED, start__lt=high, end__gt=low)
        .order_by("start")
        .values_list("rep_id", "start", "end")
    ):
        meetings[rep_id].append((m_start, m_end))
    # Our own meetings' events (by UID) are left out: availability already counts meetings.
    uids = {b.uid for a in answers for b in a.busy if b.uid}
    own_uids = (
        set(Meeting.objects.filter(calendar_uid__in=uids).values_list("calendar_uid", flat=True)) if uids else set()
    )
    blocks, counts, windows = [], {}, Q()
    for answer in answers:
        rep_id = answer.connection.rep_id
        inside = [(s, e) for s, e in meetings[rep_id] if s < answer.end and e > answer.start]
        rep_blocks = [
            BusyBlock(rep_id=rep_id, start=b.start, end=b.end, source_uid=b.uid[:500])
            for b in _without_meetings(answer.busy, inside)
            if not b.uid or b.uid not in own_uids
        ]
        for block in rep_blocks:
            block.full_clean(exclude=["rep"])
        blocks += rep_blocks
        counts[rep_id] = len(rep_blocks)
        windows |= Q(rep_id=rep_id, start__lt=answer.end, end__gt=answer.start)
    with transaction.atomic():
        BusyBlock.objects.filter(windows).delete()
        BusyBlock.objects.bulk_create(blocks)
        CalendarConnection.objects.filter(pk__in=[a.connection.pk for a in answers]).update(
            last_synced_at=timezone.now(), last_error=""
        )
    return counts


def busy_window(rep: SalesRep, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The stretch of time whose busy times matter: the window visitors can book (the rep's horizon)."""
    return now - dt.timedelta(hours=1), now + dt.timedelta(days=rep.horizon_days + 1)


def rep_refresh_busy_horizon(*, rep: SalesRep, now: dt.datetime | None = None) -> int:
    """Refresh the rep's busy times over the window visitors can book (their horizon)."""
    start, end = busy_window(rep, now or timezone.now())
    return calendar_refresh_busy(rep=rep, start=start, end=end)


# ---- busy times refreshed right before slots are offered ---------------------------------------------


@dataclass
class StaleRefresh:
    """What ``reps_refresh_stale_busy`` did, by rep id."""

    refreshed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # the calendar was down or slow: its cache is used
    fresh: list[int] = field(default_factory=list)  # cached recently enough (or someone else is refreshing)


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """The process's threads that wait for calendars (kept, with their kept-alive connections, between offers)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="busy-refresh")


def _claim_key(rep_id: int) -> str:
    return f"scheduling:busy-refresh:{rep_id}"


def reps_refresh_stale_busy(*, reps: Iterable[SalesRep], now: dt.datetime | None = None) -> StaleRefresh:
    """Refresh, in parallel, the busy times of those ``reps`` whose cache is older than
    ``SCHEDULING_BUSY_MAX_AGE_SECONDS`` (never read counts as old), before their slots are offered;
    ``now`` places the window read (the rep's horizon from then).

    Only the calendars' answers are awaited on other threads (each request bounded by
    ``SCHEDULING_BUSY_REFRESH_TIMEOUT_SECONDS``); everything the database sees, including a
    refreshed OAuth token, is written here, on the caller's connection. A calendar that is down,
    slow or revoked keeps its cached busy times, which are then offered from (the failure is
    recorded on its connection as usual). A rep another process is already refreshing is left to it.
    """
    now = now or timezone.now()
    run = StaleRefresh()
    reps = list(reps)
    # The cache's age is real time (when it was read), whatever ``now`` the offer is computed for.
    oldest_fresh = timezone.now() - dt.timedelta(seconds=settings.SCHEDULING_BUSY_MAX_AGE_SECONDS)
    connections = (
        CalendarConnection.objects.select_related("rep")
        .filter(rep__in=reps, rep__is_active=True, is_active=True)
        .exclude(grant_state=CalendarConnection.GrantState.REVOKED)
    )
    timeout = settings.SCHEDULING_BUSY_REFRESH_TIMEOUT_SECONDS
    jobs = []
    for connection in connections:
        if connection.last_synced_at and connection.last_synced_at > oldest_fresh:
            run.fresh.append(connection.rep_id)
        elif not cache.add(_claim_key(connection.rep_id), "1", timeout=int(timeout * 4) + 1):
            run.fresh.append(connection.rep_id)
        else:
            jobs.append(_BusyFetch(connection=connection, window=busy_window(connection.rep, now), timeout=timeout))
    if not jobs:
        return run
    try:
        list(_pool(max(1, settings.SCHEDULING_BUSY_REFRESH_THREADS)).map(_BusyFetch.run, jobs))
        answers = []
        for job in jobs:
            if job.tokens:
                token_store(job.connection)(job.tokens[-1])
            if job.error is not None or job.busy is None:
                _record_connection_error(job.connection, job.error or CalendarUnavailable("no answer"))
                run.failed.append(job.connection.rep_id)
            else:
                answers.append(
                    _BusyAnswer(connection=job.connection, busy=job.busy, start=job.window[0], end=job.window[1])
                )
        _store_busy(answers)
        run.refreshed += [answer.connection.rep_id for answer in answers]
    finally:
        cache.delete_many([_claim_key(job.connection.rep_id) for job in jobs])
    return run


@dataclass
class _BusyFetch:
    """One calendar's busy times, fetched on a worker thread (no database there), stored by the caller."""

    connection: CalendarConnection
    window: tuple[dt.datetime, dt.datetime]
    timeout: float
    busy: list[BusyTime] | None = None
    error: CalendarUnavailable | None = None
    tokens: list[OAuthTokens] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Built here, on the caller's thread: reading the connection's tokens needs no database later.
        self.backend = calendar_for(self.connection, timeout=self.timeout, on_tokens=self.tokens.append)

    def run(self) -> None:
        try:
            self.busy = self.backend.busy_times(*self.window)
        except CalendarUnavailable as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - a backend's bug must not cost the visitor their times
            logger.exception("Busy times of %s could not be read", self.connection)
            self.error = CalendarUnavailable(f"busy times: {exc!r}")


# ---- changes made on the rep's calendar -------------------------------------------------------------


@dataclass
class FollowRun:
    """What ``calendar_follow_changes`` did, by meeting id."""

    moved: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)  # a video link appeared or changed
    refused: list[int] = field(default_factory=list)  # moved onto another meeting of the rep: kept where it was


def calendar_follow_changes(*, rep: SalesRep, now: dt.datetime | None = None) -> FollowRun:
    """Make the rep's meetings follow what was done to their events on the rep's calendar.

    Only live meetings whose latest version is on the calendar (sync state ``synced``) follow: a
    meeting changed here whose write has not landed yet is newer than its event, and its write
    will bring the calendar in line. A moved event moves the meeting (``meeting_reschedule`` from
    the calendar: the rep's choice is not checked against their availability) and a deleted one
    cancels it (``meeting_cancel``): the visitor and the rep are emailed as for a change in admin.
    A meeting that changed meanwhile is left alone (the services compare its sequence). Safe to
    run twice: the second run finds the meetings already where their events are. Raises
    CalendarUnavailable (recorded on the connection) when the calendar cannot be read.
    """
    from scheduling import services  # services queue tasks, which call this module

    now = now or timezone.now()
    run = FollowRun()
    connection = _active_connection(rep)
    if connection is None:
        return run
    start, end = busy_window(rep, now)
    meetings = {
        meeting.calendar_uid: meeting
        for meeting in Meeting.objects.filter(
            rep=rep, status=Meeting.Status.BOOKED, end__gt=start - dt.timedelta(days=1), start__lt=end
        ).exclude(sync_state=Meeting.SyncState.NOT_CONNECTED)
    }
    # A cursor belongs to the calendar it was read from: another kind or target calendar is read afresh.
    read_from = f"{connection.kind}:{connection.target_calendar}"
    cursor = connection.changes_cursor if connection.changes_calendar == read_from else ""
    try:
        found = calendar_for(connection).event_changes(
            cursor=cursor, known={uid: m.calendar_event_id for uid, m in meetings.items()}, start=start, end=end
        )
    except CalendarUnavailable as exc:
        _record_connection_error(connection, exc)
        raise
    for uid, event_id in found.event_ids.items():
        Meeting.objects.filter(calendar_uid=uid, calendar_event_id="").update(calendar_event_id=event_id)
    for change in found.changes:
        meeting = meetings.get(change.uid)
        if meeting is not None:
            _follow(services, meeting, change, run)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        changes_cursor=found.cursor, changes_calendar=read_from, changes_read_at=timezone.now()
    )
    return run


def _follow(services, meeting: Meeting, change: EventChange, run: FollowRun) -> None:
    current = Meeting.objects.filter(pk=meeting.pk).first()
    if current is None or current.status != Meeting.Status.BOOKED or current.sync_state != Meeting.SyncState.SYNCED:
        return
    if change.join_url and change.join_url != current.video_join_url:
        if Meeting.objects.filter(pk=current.pk, sequence=current.sequence).update(video_join_url=change.join_url):
            run.links.append(current.pk)
    try:
        if change.deleted:
            services.meeting_cancel(
                meeting=current, reason="Deleted from the rep's calendar", if_sequence=current.sequence
            )
            run.cancelled.append(current.pk)
        elif change.start and change.end and (change.start, change.end) != (current.start, current.end):
            services.meeting_reschedule(
                meeting=current, start=change.start, end=change.end, on_rep_calendar=True, if_sequence=current.sequence
            )
            run.moved.append(current.pk)
    except SchedulingError as error:
        if error.code == "slot_taken":
            # The rep put it on top of another of their meetings: the database keeps one meeting per time.
            note = f"Moved on the rep's calendar to {change.start:%Y-%m-%d %H:%M} UTC, onto another meeting: kept here."
            Meeting.objects.filter(pk=current.pk).update(sync_error=note)
            logger.warning("Meeting %s: %s", current.pk, note)
            run.refused.append(current.pk)
        elif error.code not in {"meeting_changed", "meeting_not_active"}:
            raise
