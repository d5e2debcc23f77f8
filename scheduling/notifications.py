"""Emails about meetings: the visitor's invitation (.ics), the rep's briefing, reminders.

Every time a person reads is in that person's own zone, with the zone's name.
Sending is idempotent per meeting version: running a task twice (a retry, a
duplicated queue message) sends one email, because each send first claims a key
``(meeting, kind, sequence, status)`` in the cache (Redis in production).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.mime.text import MIMEText

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse

from chatbot.models import Message
from config import zones
from scheduling import ics
from scheduling.models import CalendarConnection, Meeting
from scheduling.tokens import meeting_links_redact, meeting_token

SENT_KEY_TIMEOUT_SECONDS = 14 * 24 * 3600


def public_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def manage_url(meeting: Meeting) -> str:
    return public_url(reverse("scheduling:manage", args=[meeting_token(meeting)]))


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    text: str
    at: str


TRANSCRIPT_SENDERS = [Message.Sender.VISITOR, Message.Sender.BOT, Message.Sender.REP]


def transcript_prefetch() -> Prefetch:
    """For lists of meetings (the ICS feed): every transcript in one query."""
    return Prefetch(
        "conversation__messages",
        queryset=Message.objects.filter(sender__in=TRANSCRIPT_SENDERS).order_by("created_at", "id"),
        to_attr="transcript_messages",
    )


def speaker_label(message: Message, *, visitor_label: str) -> str:
    if message.sender == Message.Sender.VISITOR:
        return visitor_label
    if message.sender == Message.Sender.REP:
        return f"{message.author_name or 'Rep'} (rep)"
    return "Bot"


def transcript(meeting: Meeting) -> list[TranscriptLine]:
    """The conversation's visitor, bot and rep turns (not system notes), times in the rep's zone.

    A rep's message (live handoff) is marked as the rep's: "<name> (rep)".

    For reps and calendars: the visitor's reschedule/cancel links are left out.
    """
    if not meeting.conversation_id:
        return []
    conversation = meeting.conversation if Meeting.conversation.is_cached(meeting) else None
    messages = getattr(conversation, "transcript_messages", None)
    if messages is None:
        messages = Message.objects.filter(
            conversation_id=meeting.conversation_id, sender__in=TRANSCRIPT_SENDERS
        ).order_by("created_at", "id")
    visitor_label = meeting.visitor_name or "Visitor"
    return [
        TranscriptLine(
            speaker=speaker_label(message, visitor_label=visitor_label),
            text=meeting_links_redact(message.text),
            at=zones.clock_text(message.created_at, meeting.rep.timezone),
        )
        for message in messages
    ]


def _reasons(lead) -> list[dict]:
    reasons = []
    for reason in (lead.reasons if lead else None) or []:
        if not isinstance(reason, dict):
            continue
        points = reason.get("points")
        points_text = f"{points:+d}" if isinstance(points, int) else str(points or "")
        reasons.append({"text": str(reason.get("text", "")), "points": points, "points_text": points_text})
    return reasons


def meeting_context(meeting: Meeting) -> dict:
    """Everything the emails and the calendar description show about a meeting."""
    lead = meeting.lead if meeting.lead_id else None
    rep = meeting.rep
    admin_url = (
        public_url(reverse("admin:chatbot_conversation_change", args=[meeting.conversation_id]))
        if meeting.conversation_id
        else ""
    )
    return {
        "meeting": meeting,
        "rep": rep,
        "lead": lead,
        "visitor_name": meeting.visitor_name or (lead.name if lead else "") or "Website visitor",
        "visitor_email": meeting.visitor_email,
        "company": (lead.company_name if lead else "") or "",
        "need": (lead.need_text if lead else "") or "",
        "score": lead.score if lead else None,
        "outcome": lead.get_outcome_display() if lead else "",
        "reasons": _reasons(lead),
        "when_rep": zones.span_text(meeting.start, meeting.end, rep.timezone),
        "when_visitor": zones.span_text(meeting.start, meeting.end, meeting.visitor_timezone),
        "visitor_zone": zones.zone_name(meeting.visitor_timezone),
        "rep_zone": zones.zone_name(rep.timezone),
        "video_link": meeting.video_link,
        "transcript": transcript(meeting),
        "admin_url": admin_url,
        "manage_url": manage_url(meeting),
        "feed_url": public_url(reverse("scheduling:rep_feed", args=[rep.feed_token])),
        "is_cancelled": meeting.status == Meeting.Status.CANCELLED,
    }


def rep_summary_text(meeting: Meeting, context: dict | None = None) -> str:
    """The lead summary in the rep's calendar event description (plain text)."""
    return render_to_string("scheduling/email/rep_summary.txt", context or meeting_context(meeting)).strip() + "\n"


def visitor_description(meeting: Meeting, context: dict) -> str:
    return render_to_string("scheduling/email/visitor_event_description.txt", context).strip() + "\n"


def header_line(value: str) -> str:
    """One line for a mail header: visitor data (a name, a company) may hold line breaks,
    which Django refuses in a header (BadHeaderError) rather than let them add headers."""
    return " ".join(value.split())


def _send(*, to: str, subject: str, template: str, context: dict, invitation: tuple[bytes, str] | None = None) -> None:
    """One email, plain text and HTML from Django templates, with an optional iTIP invitation.

    The invitation (``(ics bytes, METHOD)``) goes in twice, as mail clients expect: as a
    ``text/calendar; method=...`` alternative (what Outlook and Gmail turn into Accept /
    Decline buttons and apply to the calendar) and as an ``.ics`` attachment anyone can open.
    """
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=header_line(subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=context.get("reply_to"),
    )
    message.attach_alternative(html, "text/html")
    if invitation is not None:
        ics_bytes, method = invitation
        message.attach_alternative(ics_bytes.decode("utf-8"), f"text/calendar; method={method}")
        attachment = MIMEText(ics_bytes.decode("utf-8"), "calendar", "utf-8")
        attachment.set_param("method", method)
        filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
        attachment.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(attachment)
    message.send()


def _once(key: str, send) -> bool:
    """Send at most once per key; a failed send releases the key so a retry can send."""
    if not cache.add(key, "1", timeout=SENT_KEY_TIMEOUT_SECONDS):
        return False
    try:
        send()
    except Exception:
        cache.delete(key)
        raise
    return True


def _key(meeting: Meeting, kind: str) -> str:
    return f"scheduling:mail:{meeting.pk}:{meeting.calendar_uid}:{kind}:{meeting.sequence}:{meeting.status}"


def meeting_notify(*, meeting: Meeting, change: str) -> list[str]:
    """Email the visitor (with the .ics) and the rep about a booking, a move or a cancellation.

    ``change`` is what the booking service queued: booked, rescheduled, cancelled or status.
    Returns the kinds of email sent (for logging and tests).
    """
    cancelled = meeting.status == Meeting.Status.CANCELLED
    if change == "status" and not cancelled:
        return []  # held / no-show: nothing to tell anyone
    kind = "cancelled" if cancelled else ("rescheduled" if change == "rescheduled" else "booked")
    context = meeting_context(meeting) | {
        "change": kind,
        "reply_to": [meeting.rep.email],
        "calendar_connected": CalendarConnection.objects.filter(rep=meeting.rep, is_active=True).exists(),
    }
    sent = []
    if meeting.visitor_email:
        method = "CANCEL" if cancelled else "REQUEST"
        invitation = ics.meeting_invitation(meeting, method=method, description=visitor_description(meeting, context))
        subject = {
            "booked": f"Your meeting with {meeting.rep.name}: {context['when_visitor']}",
            "rescheduled": f"Moved: your meeting with {meeting.rep.name} is now {context['when_visitor']}",
            "cancelled": f"Cancelled: your meeting with {meeting.rep.name} on {context['when_visitor']}",
        }[kind]
        template = "scheduling/email/visitor_cancelled" if cancelled else "scheduling/email/visitor_confirmation"
        if _once(
            _key(meeting, f"visitor-{kind}"),
            lambda: _send(
                to=meeting.visitor_email,
                subject=subject,
                template=template,
                context=context,
                invitation=(invitation, method),
            ),
        ):
            sent.append(f"visitor-{kind}")
    # The rep never gets the visitor's reschedule/cancel link (whoever holds it can cancel).
    rep_context = {k: v for k, v in context.items() if k != "manage_url"} | {
        "reply_to": [meeting.visitor_email] if meeting.visitor_email else None
    }
    who = context["visitor_name"] + (f" ({context['company']})" if context["company"] else "")
    rep_subject = {
        "booked": f"New meeting: {who}, {context['when_rep']}",
        "rescheduled": f"Moved: {who} is now {context['when_rep']}",
        "cancelled": f"Cancelled: {who}, {context['when_rep']}",
    }[kind]
    if _once(
        _key(meeting, f"rep-{kind}"),
        lambda: _send(
            to=meeting.rep.email, subject=rep_subject, template="scheduling/email/rep_meeting", context=rep_context
        ),
    ):
        sent.append(f"rep-{kind}")
    return sent


def meeting_send_reminder(*, meeting: Meeting, hours: int) -> None:
    """The visitor's reminder 24 h or 1 h before (the caller makes it happen once)."""
    context = meeting_context(meeting) | {"hours": hours, "reply_to": [meeting.rep.email]}
    lead_time = "in 1 hour" if hours == 1 else f"in {hours} hours"
    _send(
        to=meeting.visitor_email,
        subject=f"Reminder: your meeting with {meeting.rep.name} {lead_time}, {context['when_visitor']}",
        template="scheduling/email/visitor_reminder",
        context=context,
    )


def rep_notify_calendar_revoked(*, connection: CalendarConnection) -> bool:
    """Tell the rep that their calendar's OAuth grant was revoked or has expired (once per revocation)."""
    rep = connection.rep
    context = {
        "rep": rep,
        "provider": {CalendarConnection.Kind.GOOGLE: "Google", CalendarConnection.Kind.MICROSOFT: "Microsoft 365"}.get(
            connection.kind, connection.get_kind_display()
        ),
        "account": connection.account_email,
        "connect_url": public_url(reverse("admin:scheduling_salesrep_change", args=[rep.pk])),
    }
    # One email per grant: a new grant (connected again) has a new refresh token.
    grant = hashlib.sha256(connection.refresh_token_encrypted.encode()).hexdigest()[:16]
    return _once(
        f"scheduling:mail:calendar-revoked:{connection.pk}:{grant}",
        lambda: _send(
            to=rep.email,
            subject=f"Connect your {context['provider']} calendar again",
            template="scheduling/email/rep_calendar_revoked",
            context=context,
        ),
    )
