"""Writes for leads. Facts are stored as they arrive, so an abandoned chat keeps what was said."""

from django.db import transaction

from chatbot.models import Conversation
from qualification.models import Lead


def lead_for_conversation(*, public_id: str) -> Lead:
    """The conversation's lead, created on first use (one per conversation)."""
    conversation = Conversation.objects.get(public_id=public_id)
    lead, _ = Lead.objects.get_or_create(conversation=conversation)
    return lead


@transaction.atomic
def lead_record_facts(*, lead: Lead, facts: dict, raw: dict | None = None) -> Lead:
    """Set the given Lead fields (already validated and normalised) and their raw text."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    for field, value in facts.items():
        setattr(lead, field, value)
    if raw:
        lead.raw = {**lead.raw, **raw}
    lead.full_clean()
    lead.save()
    return lead


def lead_record_for_conversation(*, public_id: str, facts: dict, raw: dict | None = None) -> Lead:
    """What the bot calls each turn: the conversation's lead with these facts stored on it."""
    lead = lead_for_conversation(public_id=public_id)
    if not facts and not raw:
        return lead
    return lead_record_facts(lead=lead, facts=facts, raw=raw)


def lead_set_email_consent(*, public_id: str, consent: bool) -> Lead:
    """The visitor said yes (or no) to resources and follow-up by email."""
    lead = lead_for_conversation(public_id=public_id)
    return lead_record_facts(lead=lead, facts={"consent_email_followup": consent})
