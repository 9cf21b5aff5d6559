"""The pipeline tab: the agent's working pipeline drawn as a graph (laid out
by ``graph_layout``), with every node's configuration one click away and
the same nodes and edges as tables for screen readers.  Read-only: the
pipeline is edited in "Edit as JSON/YAML"."""

from __future__ import annotations

from django.views.generic import TemplateView

from agents.web.base import AgentPageMixin
from agents.web.graph_layout import NODE_H, NODE_W, layout


class AgentPipelineView(AgentPageMixin, TemplateView):
    template_name = "console/agents/pipeline.html"
    panel_template_name = "console/agents/includes/node_panel.html"
    tab = "pipeline"

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request and "node" in self.request.GET:
            return [self.panel_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        graph = layout(self.agent.pipeline)
        chosen = self.request.GET.get("node")
        context.update(graph=graph, node_w=NODE_W, node_h=NODE_H, chosen=chosen,
                       selected=graph.box(chosen) if chosen else None)
        return context

    def render_to_response(self, context, **kwargs):
        # An unknown node is a 404 for the page; the htmx panel (which htmx
        # would not swap on an error status) says so in place.
        missing = context["chosen"] and context["selected"] is None and not getattr(self.request, "htmx", False)
        return super().render_to_response(context, status=404 if missing else 200, **kwargs)
