"""Staff views of agents, members, the audit log and LLM providers.

Writes with rules in them go through the services, like every other caller:
staff may change an agent's status or delete it here (both audited); config,
pipeline and members are changed through the API, which validates them.
Providers are written through their services too: the same validation (the
private-address guard included), encryption of the key and the log line.
The key is write-only here: the form never shows it or its ciphertext.
"""

from django import forms
from django.contrib import admin, messages

from accounts.actor import Actor
from agents.models import Agent, AgentMember, AgentTag, AgentVersion, AuditLogEntry, Provider, Schedule
from agents.services import agent_delete, agent_set_status
from agents.services.providers import provider_create, provider_delete, provider_update, provider_validate
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


EDITABLE = ("name", "kind", "base_url", "models")


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: never shown again. Leave empty to keep the current key.")
    clear_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")
    models = forms.JSONField(required=False, initial=list, help_text='[{"name": "gpt-4o-mini", '
                             '"input_per_million": 0.15, "output_per_million": 0.6}]: USD per million tokens.')

    class Meta:
        model = Provider
        fields = EDITABLE

    def service_fields(self) -> dict:
        """What changed, as the services take it (all fields when adding)."""
        data = self.cleaned_data
        fields = {name: data.get(name) for name in EDITABLE if self.instance._state.adding
                  or name in self.changed_data}
        if "models" in fields and fields["models"] is None:
            fields["models"] = []
        if data.get("api_key"):
            fields["api_key"] = data["api_key"]
        elif data.get("clear_api_key"):
            fields["api_key"] = ""
        return fields

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        current = None if self.instance._state.adding else Provider.objects.get(pk=self.instance.pk)
        try:
            provider_validate(provider=current, **self.service_fields())
        except ApiError as exc:
            for path, problems in (exc.errors or {"__all__": [exc.detail]}).items():
                field = path.split("[", 1)[0].split(".", 1)[0]
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "kind", "base_url", "key_set", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "base_url")
    readonly_fields = ("id", "key_set", "created_by", "created_at", "updated_at")
    fields = ("name", "kind", "base_url", "api_key", "clear_api_key", "models", *readonly_fields)

    @admin.display(boolean=True, description="has API key")
    def key_set(self, obj):
        return obj.has_api_key

    def save_model(self, request, obj, form, change):
        fields = form.service_fields()
        try:
            if change:
                provider_update(actor=Actor.from_request(request), provider=Provider.objects.get(pk=obj.pk), **fields)
            else:
                created = provider_create(actor=Actor.from_request(request), **fields)
                obj.pk = created.pk
        except ApiError as exc:  # lost a race since the form was checked
            self.message_user(request, exc.detail, level=messages.ERROR)

    def delete_model(self, request, obj):
        provider_delete(actor=Actor.from_request(request), provider=obj)

    def delete_queryset(self, request, queryset):
        for provider in queryset:
            provider_delete(actor=Actor.from_request(request), provider=provider)
