"""Deletions mark their bucket stale, so the next rollup refresh recomputes it (analytics/rollups.py).

Timestamps tell the refresh what changed; a deleted row leaves none, hence these marks. They
are written in the deleting transaction (pre_delete, while the conversation still exists).
"""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from analytics import rollups
from chatbot.models import Conversation
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer


@receiver(pre_delete, sender=Conversation, dispatch_uid="analytics-conversation-deleted")
def conversation_deleted(sender, instance: Conversation, **kwargs) -> None:
    rollups.mark_stale({rollups.bucket_of(instance)})


@receiver(pre_delete, sender=Lead, dispatch_uid="analytics-lead-deleted")
@receiver(pre_delete, sender=Meeting, dispatch_uid="analytics-meeting-deleted")
@receiver(pre_delete, sender=SlotOffer, dispatch_uid="analytics-slot-offer-deleted")
def conversation_part_deleted(sender, instance, **kwargs) -> None:
    if instance.conversation_id is None:
        return
    conversation = Conversation.objects.filter(pk=instance.conversation_id).only("site_id", "started_at").first()
    if conversation is not None:
        rollups.mark_stale({rollups.bucket_of(conversation)})
