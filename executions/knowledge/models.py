"""Documents, their chunks, and one revision counter per agent.

``Chunk`` rows are the searchable text: the full-text index follows them
(an FTS5 table kept by triggers on SQLite, a generated ``tsvector`` column
with a GIN index on PostgreSQL; migration 0002), and ``embedding`` holds the
chunk's vector packed as float32, the source of truth every process's
in-memory vector index is rebuilt from.  ``KnowledgeBase.revision`` grows in
the same transaction as any change to an agent's chunks, so a process knows
when its index is stale.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class DocumentStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DocumentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    PPTX = "pptx", "PowerPoint"
    DOCX = "docx", "Word"
    HTML = "html", "HTML"
    MARKDOWN = "md", "Markdown"
    TEXT = "txt", "Plain text"


class KnowledgeBase(models.Model):
    """Per agent: the revision of its searchable chunks."""

    agent = models.OneToOneField("agents.Agent", on_delete=models.CASCADE, primary_key=True,
                                 related_name="knowledge_base")
    revision = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.agent_id}@{self.revision}"


class Document(models.Model):
    """One uploaded file.  ``document_id`` is the caller's name for it, unique
    per agent; uploading it again replaces the document when the new file is
    indexed.  ``storage_name`` is where the file lives in the ``knowledge``
    storage; ``filename`` is only the name the client gave."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="knowledge_documents")
    document_id = models.CharField(max_length=100)
    filename = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    file_size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=500)
    tags = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.PROCESSING)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    pages = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    embedding_model = models.CharField(max_length=300, blank=True, default="")
    execution = models.ForeignKey("executions.Execution", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "document_id"], name="knowledge_document_id_unique"),
        ]
        indexes = [models.Index(fields=["agent", "created_at", "id"], name="knowledge_doc_agent_created")]

    def __str__(self):
        return f"{self.agent_id}:{self.document_id}"


class Chunk(models.Model):
    """A passage of a document: the unit search finds and runs cite."""

    id = models.BigAutoField(primary_key=True)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField(help_text="0-based position in the document.")
    page = models.PositiveIntegerField(null=True, blank=True,
                                       help_text="1-based page or slide, when the format has them.")
    heading = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField()
    embedding = models.BinaryField(null=True, blank=True, help_text="float32 vector, little-endian.")
    embedding_model = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["document", "ordinal"]
        indexes = [models.Index(fields=["agent", "embedding_model", "id"], name="knowledge_chunk_agent_model")]

    def __str__(self):
        return f"{self.document_id}#{self.ordinal}"
