from django_filters import rest_framework as filters

from agents.models import Provider, ProviderKind
from core.filters import UtcIsoDateTimeFilter
from executions.models import Execution, ExecutionStatus, Trigger


class ExecutionFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ExecutionStatus.choices)
    trigger = filters.ChoiceFilter(choices=Trigger.choices)
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                 help_text="Created at or after this time (ISO 8601).")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                 help_text="Created before this time (ISO 8601).")

    class Meta:
        model = Execution
        fields = ["status", "trigger", "since", "until"]


class ProviderFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ProviderKind.choices)

    class Meta:
        model = Provider
        fields = ["kind"]
