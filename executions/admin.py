"""Staff views of LLM providers.

Writes go through the services, like the API's: the same validation (the
private-address guard included), encryption of the key and the log line.
The key is write-only here too: the form never shows it or its ciphertext.
"""

from django import forms
from django.contrib import admin, messages

from accounts.actor import Actor
from agents.admin import ReadOnlyAdminMixin
from core.errors import ApiError
from executions.models import Execution, ExecutionStep, Provider
from executions.services import provider_create, provider_delete, provider_update, provider_validate

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
