from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    # Email is unique and required, so the add form must ask for it.
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be inspected and revoked here; they are created through the
    API or ``manage.py create_token`` so the raw value is shown to its owner."""

    list_display = ("name", "user", "prefix", "scopes", "expires_at", "last_used_at", "created_at")
    list_filter = ("expires_at", "created_at")
    search_fields = ("name", "prefix", "user__username", "user__email")
    readonly_fields = ("id", "user", "prefix", "key_hash", "last_used_at", "created_at")
    fields = ("id", "user", "name", "prefix", "scopes", "expires_at", "last_used_at", "created_at")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False
