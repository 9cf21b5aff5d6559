"""Where uploaded files live: the ``knowledge`` storage (``settings.STORAGES``),
a local directory under ``AGENTRY_DATA_DIR`` by default, any Django storage
(S3-compatible included) when configured.  Stored names are random; the
client's filename is only metadata.

A document's file goes when its row goes, however the row goes (deleted on
its own, or with its agent): the one ``post_delete`` receiver below removes
it once the deletion commits, so a rolled-back delete keeps its file."""

from __future__ import annotations

import logging
import uuid

from django.core.files.storage import storages
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from executions.knowledge.models import Document

logger = logging.getLogger("agentry.knowledge")


def knowledge_storage():
    return storages["knowledge"]


def file_save(agent_id, uploaded) -> str:
    """Store ``uploaded`` (a Django ``File``) under a fresh name; returns it."""
    return knowledge_storage().save(f"{agent_id}/{uuid.uuid4().hex}", uploaded)


def file_open(name: str):
    return knowledge_storage().open(name, "rb")


def file_delete(name: str) -> None:
    """Remove a stored file; a missing one is already gone."""
    if not name:
        return
    try:
        knowledge_storage().delete(name)
    except Exception:  # a storage outage must not fail the delete that asked
        logger.warning("Could not delete knowledge file %s", name, exc_info=True)


def file_delete_on_commit(name: str) -> None:
    transaction.on_commit(lambda: file_delete(name))


@receiver(post_delete, sender=Document, dispatch_uid="knowledge.document_file_delete")
def _document_deleted(sender, instance: Document, **kwargs):
    file_delete_on_commit(instance.storage_name)
