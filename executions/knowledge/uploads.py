"""Receiving an upload without holding it in memory or reading past the
limit: files go to temporary files (Django's handler), and this handler
counts the bytes as they stream, refusing the upload with 413 the moment a
file passes ``AGENTRY_KNOWLEDGE_MAX_BYTES``, whatever Content-Length said."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler
from rest_framework.parsers import MultiPartParser


class FileSizeLimitHandler(FileUploadHandler):
    """Runs before the handler that stores the file; raises once a file is too large."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            from executions.knowledge.services.documents import file_limit_error

            raise file_limit_error(self.limit)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler keeps the file


class DocumentUploadParser(MultiPartParser):
    """``multipart/form-data`` with the file size limit and files on disk."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        django_request = getattr(request, "_request", request)
        django_request.upload_handlers = [
            FileSizeLimitHandler(django_request, limit=settings.AGENTRY_KNOWLEDGE_MAX_BYTES),
            TemporaryFileUploadHandler(django_request),
        ]
        return super().parse(stream, media_type, parser_context)
