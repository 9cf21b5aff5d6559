"""An agent's artifacts tab: the list (filtered by type and tag, as the API's), one artifact (HTML ones in a sandboxed
frame), download, and delete for admins.

The same reads and service as ``/api/v1/agents/{agent}/artifacts``.  An HTML
artifact is never rendered into a console page: the frame loads the API's
``/view`` endpoint, which serves it under ``Content-Security-Policy: sandbox``,
and the frame itself is sandboxed, so its scripts never run and it never
gets the console's origin.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView, TemplateView

from agents.web.base import AgentPageMixin
from executions.api.artifacts import VIEW_CSP
from executions.artifacts import artifact_get_for_agent, artifacts_with_size, is_html
from executions.inputs import ARTIFACT_TYPE, ARTIFACT_TYPE_RULE, TAG_MAX_LENGTH
from executions.models import Artifact
from executions.services.artifacts import artifact_delete

PAGE_SIZE = 50
PREVIEW_CHARS = 100_000
# What a downloaded artifact is saved as, by its type's last word.
EXTENSIONS = {"html": ("html", "text/html"), "json": ("json", "application/json"), "md": ("md", "text/markdown"),
              "markdown": ("md", "text/markdown"), "csv": ("csv", "text/csv"), "yaml": ("yaml", "application/yaml")}


class ArtifactFilterForm(forms.Form):
    """The API's list filters (``?type=&tag=``), with labels, checked as the API checks what it stores."""

    type = forms.RegexField(ARTIFACT_TYPE, required=False, label="Type", error_messages={"invalid": ARTIFACT_TYPE_RULE},
                            help_text="An artifact type, e.g. html_report or markdown.")
    tag = forms.CharField(max_length=TAG_MAX_LENGTH, required=False, label="Tag")


class ArtifactListView(AgentPageMixin, ListView):
    """The artifacts, newest first; invalid filters show their errors and no rows."""

    template_name = "console/artifacts/list.html"
    context_object_name = "artifacts"
    tab = "artifacts"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.filters = ArtifactFilterForm(self.request.GET)
        if not self.filters.is_valid():
            return Artifact.objects.none()
        chosen = self.filters.cleaned_data
        return artifacts_with_size(self.agent, artifact_type=chosen["type"] or None, tag=chosen["tag"] or None)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "filters": self.filters}


class ArtifactMixin(AgentPageMixin):
    tab = "artifacts"

    def get_artifact(self):
        return artifact_get_for_agent(self.agent, self.kwargs["artifact"])


class ArtifactDetailView(ArtifactMixin, TemplateView):
    template_name = "console/artifacts/detail.html"

    def get_context_data(self, **kwargs):
        artifact = self.get_artifact()
        context = super().get_context_data(**kwargs)
        html = is_html(artifact.artifact_type)
        context.update(artifact=artifact, is_html=html, size=len(artifact.content.encode("utf-8", "surrogatepass")),
                       view_url=reverse("agent-artifact-view", args=[self.agent.slug, artifact.pk]))
        if not html:
            context.update(preview=artifact.content[:PREVIEW_CHARS],
                           truncated=len(artifact.content) > PREVIEW_CHARS)
        return context


class ArtifactDownloadView(ArtifactMixin, View):
    """The content as a file to save, never to display in the console's origin."""

    def get(self, request, ref, artifact):
        artifact = self.get_artifact()
        extension, media_type = download_type(artifact.artifact_type)
        response = HttpResponse(artifact.content, content_type=f"{media_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{download_name(artifact.title, extension)}"'
        response["Content-Security-Policy"] = VIEW_CSP
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class ArtifactDeleteView(ArtifactMixin, View):
    """Admins delete an artifact, whoever saved it (as the API's DELETE)."""

    def post(self, request, ref, artifact):
        artifact = self.get_artifact()
        artifact_delete(artifact, actor=self.actor())
        messages.success(request, f"Artifact “{artifact.title}” deleted.")
        return redirect("console:agent-artifacts", self.agent.slug)


def download_type(artifact_type: str) -> tuple[str, str]:
    """The file extension and media type for an artifact type (``html_report`` → html)."""
    if is_html(artifact_type):
        return EXTENSIONS["html"]
    last = artifact_type.rsplit("_", 1)[-1].lower()
    return EXTENSIONS.get(last, ("txt", "text/plain"))


def download_name(title: str, extension: str) -> str:
    """A safe file name from the artifact's title: letters, digits, dots, hyphens and underscores."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")[:80] or "artifact"
    return f"{stem}.{extension}"
