"""The knowledge tab: an agent's documents, uploads, deletion and search.

Reads (the list, its status partial, search) need the viewer role, writes
the admin role, as ``/api/v1/agents/{agent}/knowledge``.  The page's script
uploads each file with its own progress bar to that API endpoint (session +
CSRF header); without JavaScript the form posts here and goes through the
same ``document_upload``, with the same streaming size limit.  While any
document is processing, the documents table polls its status partial every
second (htmx) and stops once all are ready or failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import TemplateView

from agents.web.base import AgentPageMixin
from core.awaiting import Awaiting
from core.errors import ApiError
from core.validation import validated
from core.web.forms import add_service_errors
from executions.knowledge import selectors
from executions.knowledge.inputs import SearchInputSerializer, upload_fields
from executions.knowledge.models import DocumentStatus
from executions.knowledge.services import documents
from executions.knowledge.uploads import FileSizeLimitHandler
from executions.knowledge.web.forms import SearchForm, UploadForm

DOCUMENTS_PER_PAGE = 50


class KnowledgePageMixin(AgentPageMixin):
    tab = "knowledge"

    def documents_context(self) -> dict:
        counts = selectors.document_status_counts(agent=self.agent)
        page = Paginator(selectors.document_list_for_agent(agent=self.agent), DOCUMENTS_PER_PAGE).get_page(
            self.request.GET.get("page"))
        return {"documents": page, "counts": counts, "polling": counts[DocumentStatus.PROCESSING] > 0,
                "status_url": reverse("console:knowledge-status", args=[self.agent.slug])
                + (f"?page={page.number}" if page.number > 1 else "")}

    def searched(self, render: Callable[[dict], HttpResponse]) -> HttpResponse:
        """``render(context)`` with the search form, and its results when a
        query was sent (the API's ``POST /knowledge/search``: the same input
        serializer and selector).  The search is awaited on the event loop,
        not on this thread, as the query's embedding takes a provider's time (core.awaiting)."""
        if "query" not in self.request.GET:
            return render({"search_form": SearchForm(), "search": None})
        form = SearchForm(self.request.GET)
        if not form.is_valid():
            return render({"search_form": form, "search": None})
        body = {"query": form.cleaned_data["query"]}
        if form.cleaned_data["top_k"] is not None:
            body["top_k"] = form.cleaned_data["top_k"]
        try:
            body = validated(SearchInputSerializer(data=body))
        except ApiError as error:
            add_service_errors(form, error)
            return render({"search_form": form, "search": None})
        search = functools.partial(selectors.knowledge_search_for_definition, self.agent.pk, self.agent.config,
                                   body["query"], top_k=body.get("top_k"))
        return Awaiting(search, lambda done: render(_search_outcome(form, body["query"], done)))


def _search_outcome(form: SearchForm, query: str, done) -> dict:
    try:
        return {"search_form": form, "search": {"query": query, **done.result()}}
    except ApiError as error:
        add_service_errors(form, error)
        return {"search_form": form, "search": None}


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), once the upload handlers are set
class KnowledgeView(KnowledgePageMixin, TemplateView):
    """``/agents/<ref>/knowledge/``."""

    template_name = "console/knowledge/index.html"

    def get(self, request, *args, **kwargs):
        return self.searched(lambda search: self.render_to_response(self.get_context_data(**kwargs, **search)))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.documents_context())
        context.setdefault("search_form", SearchForm())
        context.setdefault("search", None)
        context["upload_form"] = kwargs.get("upload_form") or UploadForm()
        context["upload_api_url"] = reverse("agent-knowledge-list", kwargs={"agent": self.agent.slug})
        context["max_bytes"] = settings.AGENTRY_KNOWLEDGE_MAX_BYTES
        return context

    def post(self, request, *args, **kwargs):
        # As the API's DocumentUploadParser: files stream to temporary files,
        # refused the moment one passes AGENTRY_KNOWLEDGE_MAX_BYTES.
        request.upload_handlers = [FileSizeLimitHandler(request, limit=settings.AGENTRY_KNOWLEDGE_MAX_BYTES),
                                   TemporaryFileUploadHandler(request)]
        try:
            return self.upload(request)
        except ApiError as error:  # raised while the body was read: too large
            form = UploadForm(data={})
            form.full_clean()
            form.errors["files"] = form.error_class([error.detail])
            return self.render_to_response(self.get_context_data(upload_form=form), status=error.status)

    @method_decorator(csrf_protect)
    def upload(self, request):
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(upload_form=form), status=400)
        fields = upload_fields({"tags": form.cleaned_data["tags"], "description": form.cleaned_data["description"]})
        uploaded, status = [], 200
        try:
            for file in form.cleaned_data["files"]:
                try:
                    documents.document_upload(agent=self.agent, actor=self.actor(), uploaded=file, data=fields)
                    uploaded.append(file.name)
                except ApiError as error:
                    status = max(status, error.status)
                    if error.errors and "file" not in error.errors:
                        add_service_errors(form, error)  # a form field's error: the same for every file
                        break
                    form.add_error("files", f"{file.name}: {error.detail}")
        finally:
            for file in request.FILES.getlist("files"):
                file.close()
        if uploaded:
            messages.success(request, f"Uploaded {', '.join(uploaded)}: processing.")
        if form.errors:
            return self.render_to_response(self.get_context_data(upload_form=form), status=status)
        return redirect(reverse("console:agent-knowledge", args=[self.agent.slug]))


class KnowledgeStatusView(KnowledgePageMixin, TemplateView):
    """The documents table alone, for htmx's polling and refreshes."""

    template_name = "console/knowledge/_documents.html"
    http_method_names = ["get"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.documents_context())
        return context


class KnowledgeSearchView(KnowledgePageMixin, TemplateView):
    """Search results alone (htmx); the whole page without htmx."""

    template_name = "console/knowledge/_search.html"
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        if not request.htmx:
            url = reverse("console:agent-knowledge", args=[self.agent.slug])
            return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
        return self.searched(lambda search: self.render_to_response(self.get_context_data(**kwargs, **search)))


class DocumentDeleteView(KnowledgePageMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        document = selectors.document_get_for_agent(agent=self.agent, document_id=kwargs["doc"])
        documents.document_delete(document=document)
        messages.success(request, f"Deleted {document.filename} ({document.document_id}).")
        return redirect(reverse("console:agent-knowledge", args=[self.agent.slug]))
