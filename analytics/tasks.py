"""Celery tasks of analytics: keep the dashboard's rollups current (beat runs this every minute)."""

from celery import shared_task

from analytics import rollups


@shared_task
def rollups_refresh() -> int | None:
    return rollups.refresh()
