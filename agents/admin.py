"""Staff views of agents, members and the audit log.

Writes with rules in them go through the services, like every other caller:
staff may change an agent's status or delete it here (both audited); config,
pipeline and members are changed through the API, which validates them.
"""

from django.contrib import admin, messages

from accounts.actor import Actor
from agents.models import Agent, AgentMember, AgentTag, AgentVersion, AuditLogEntry, Schedule
from agents.services import agent_delete, agent_set_status
from agents.validation import UNDELETABLE_NAME
from core.errors import ApiError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AgentMemberInline(ReadOnlyInline):
    model = AgentMember
    fk_name = "agent"
    fields = ("user", "role", "added_by", "created_at")


class AgentTagInline(ReadOnlyInline):
    model = AgentTag
    fields = ("name", "position")


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "status", "runtime_state", "updated_at")
    list_filter = ("status", "runtime_state")
    search_fields = ("name", "slug", "description", "owner__email")
    list_select_related = ("owner",)
    readonly_fields = ("id", "name", "slug", "description", "owner", "config", "pipeline", "runtime_state",
                       "runtime_started_at", "deployed_version", "revision", "created_at", "updated_at",
                       "last_activity")
    fields = ("status", *readonly_fields)
    inlines = [AgentMemberInline, AgentTagInline]
    actions = None  # bulk delete would skip the per-agent rules

    def has_add_permission(self, request):
        return False  # agents are created through the API, which makes the owner a member

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (
            obj is not None and UNDELETABLE_NAME in (obj.name, obj.slug))

    def get_deleted_objects(self, objs, request):
        # Members and tags go with their agent as part of agent_delete; their
        # own admin being read-only must not block that.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            agent_set_status(agent=obj, actor=Actor.from_request(request), status=form.cleaned_data["status"])

    def delete_model(self, request, obj):
        try:
            agent_delete(agent=obj, actor=Actor.from_request(request))
        except ApiError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)


@admin.register(AgentMember)
class AgentMemberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: roles change through the API, which enforces who may grant what."""

    list_display = ("agent", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("agent__name", "agent__slug", "user__email")
    list_select_related = ("agent", "user")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the audit log is written by the services alone."""

    list_display = ("created_at", "action", "agent_slug", "actor_email", "token_name", "ip")
    list_filter = ("action", "created_at")
    search_fields = ("agent_slug", "actor_email", "token_name", "ip")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(AgentVersion)
class AgentVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: versions are immutable snapshots."""

    list_display = ("agent", "index", "changelog", "author", "created_at")
    search_fields = ("agent__slug", "changelog")
    list_select_related = ("agent", "author")
    exclude = ("config",)  # the stored form holds encrypted secrets; the API shows them masked


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: schedules change through the API, which keeps beat's periodic task in step."""

    list_display = ("agent", "name", "cron", "timezone", "enabled", "primary", "last_run_at")
    list_filter = ("enabled", "primary")
    search_fields = ("agent__slug", "name")
    list_select_related = ("agent",)
