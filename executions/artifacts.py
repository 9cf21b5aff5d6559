"""Reads of an agent's artifacts: the list (without ``content``, which can
be megabytes) and one artifact.  ``HTML_TYPES`` says which types are served
as pages by ``/artifacts/{id}/view``."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.models import BooleanField, Func, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from agents.models import Agent
from core.errors import NotFound
from executions.models import Artifact


def is_html(artifact_type: str) -> bool:
    """``html``, ``html_*`` and ``*_html`` artifacts (``html_report`` the default) are HTML pages."""
    return artifact_type == "html" or artifact_type.startswith("html_") or artifact_type.endswith("_html")


def _with_tag(artifacts: QuerySet[Artifact], tag: str) -> QuerySet[Artifact]:
    """Artifacts whose ``tags`` list holds ``tag``, in the database on both backends."""
    if connection.vendor == "postgresql":
        return artifacts.filter(tags__contains=[tag])
    table = connection.ops.quote_name(Artifact._meta.db_table)
    tagged = RawSQL(f"EXISTS (SELECT 1 FROM json_each({table}.tags) WHERE json_each.value = %s)", (tag,),
                    output_field=BooleanField())
    return artifacts.alias(tagged=tagged).filter(tagged=True)


def artifacts_for(agent: Agent, *, artifact_type: str | None = None, tag: str | None = None) -> QuerySet[Artifact]:
    """The agent's artifacts, newest first, without their content."""
    artifacts = Artifact.objects.filter(agent=agent).select_related("created_by").defer("content")
    if artifact_type:
        artifacts = artifacts.filter(artifact_type=artifact_type)
    if tag:
        artifacts = _with_tag(artifacts, tag)
    return artifacts.order_by("-created_at", "-id")


class ContentBytes(Func):
    """A text column's size in UTF-8 bytes, counted by the database (``LENGTH`` counts characters)."""

    function, output_field = "OCTET_LENGTH", IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))", **extra)


def artifacts_with_size(agent: Agent, *, artifact_type: str | None = None,
                        tag: str | None = None) -> QuerySet[Artifact]:
    """The agent's artifacts, newest first, each with ``size`` (its content's bytes) but not the content;
    filtered as ``artifacts_for`` filters."""
    return artifacts_for(agent, artifact_type=artifact_type, tag=tag).annotate(size=ContentBytes("content"))


def artifact_get_for_agent(agent: Agent, artifact_id) -> Artifact:
    """One of the agent's artifacts with its content; 404 for another agent's, an unknown id or a non-UUID."""
    try:
        pk = uuid.UUID(str(artifact_id))
    except ValueError:
        raise NotFound("Artifact not found.") from None
    artifact = Artifact.objects.filter(agent=agent, pk=pk).select_related("created_by").first()
    if artifact is None:
        raise NotFound("Artifact not found.")
    artifact.agent = agent
    return artifact
