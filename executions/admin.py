"""Staff views of executions and their steps (read-only: the engine writes them)."""

from django.contrib import admin

from agents.admin import ReadOnlyAdminMixin
from executions.models import Execution, ExecutionStep


class ExecutionStepInline(admin.TabularInline):
    model = ExecutionStep
    fields = ("sequence", "node_id", "node_type", "status", "provider", "model", "tokens_prompt",
              "tokens_completion", "cost_usd", "duration_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("sequence",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Executions are written by the engine only; staff read them here."""

    list_display = ("id", "agent", "status", "trigger", "created_at", "duration_ms", "cost_usd", "worker")
    list_filter = ("status", "trigger")
    list_select_related = ("agent",)
    search_fields = ("id", "agent__slug", "correlation_id")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Execution._meta.fields]
    inlines = [ExecutionStepInline]
