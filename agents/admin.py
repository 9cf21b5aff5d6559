from django.contrib import admin

from agents.models import Agent, AgentMember, AgentTag, AuditLogEntry


class AgentMemberInline(admin.TabularInline):
    model = AgentMember
    fk_name = "agent"
    extra = 0
    raw_id_fields = ("user", "added_by")
    readonly_fields = ("created_at",)


class AgentTagInline(admin.TabularInline):
    model = AgentTag
    extra = 0


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "status", "runtime_state", "updated_at")
    list_filter = ("status", "runtime_state")
    search_fields = ("name", "slug", "description", "owner__email")
    readonly_fields = ("id", "revision", "created_at", "updated_at", "last_activity")
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    inlines = [AgentMemberInline, AgentTagInline]


@admin.register(AgentMember)
class AgentMemberAdmin(admin.ModelAdmin):
    list_display = ("agent", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("agent__name", "agent__slug", "user__email")
    raw_id_fields = ("agent", "user", "added_by")
    list_select_related = ("agent", "user")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by the services alone."""

    list_display = ("created_at", "action", "agent_slug", "actor_email", "token_name", "ip")
    list_filter = ("action", "created_at")
    search_fields = ("agent_slug", "actor_email", "token_name", "ip")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
