from django.contrib import admin

from executions.knowledge.models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("document_id", "filename", "agent", "kind", "status", "progress", "chunk_count", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("document_id", "filename", "agent__slug")
    readonly_fields = ("id", "agent", "execution", "storage_name", "sha256", "uploaded_by", "created_at",
                       "updated_at", "indexed_at")
