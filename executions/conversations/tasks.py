"""Celery tasks of conversations (names are stable: beat rows refer to them)."""

from celery import shared_task

from executions.conversations.services.threads import threads_archive_idle


@shared_task(name="conversations.archive_idle")
def threads_archive_idle_task() -> dict:
    """Archive threads idle past their agent's ``auto_archive_after_days``."""
    return {"archived": threads_archive_idle()}
