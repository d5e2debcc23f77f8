"""Celery tasks of privacy (thin: one service each)."""

from celery import shared_task

from privacy.services import retention_apply


@shared_task
def retention_run() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): anonymise what is past each site's retention, prune Rasa's store."""
    return retention_apply().as_dict()
