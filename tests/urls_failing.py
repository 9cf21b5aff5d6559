"""URLs for error-handling tests: the real API plus views that fail on purpose."""

from django.urls import path
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns


class ExplodingApiView(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        raise RuntimeError("secret internal detail /etc/passwd")


def exploding_plain_view(request):
    raise RuntimeError("secret internal detail /etc/passwd")


urlpatterns = [
    path("boom/api", ExplodingApiView.as_view()),
    path("boom/plain", exploding_plain_view),
    *real_urlpatterns,
]

handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
