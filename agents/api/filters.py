from django.db.models import Exists, OuterRef, Q
from django_filters import rest_framework as filters

from agents.models import Agent, AgentStatus, AgentTag, RuntimeState


class AgentFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Name or slug contains (case-insensitive).")
    slug_prefix = filters.CharFilter(field_name="slug", lookup_expr="startswith")
    status = filters.ChoiceFilter(choices=AgentStatus.choices)
    runtime_state = filters.ChoiceFilter(choices=RuntimeState.choices)
    tag = filters.CharFilter(method="filter_tag", help_text="Has this tag.")

    class Meta:
        model = Agent
        fields = ["q", "slug_prefix", "status", "runtime_state", "tag"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(Exists(AgentTag.objects.filter(agent=OuterRef("pk"), name=value)))
