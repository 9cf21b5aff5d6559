"""The product's URLs plus ``GET /bench/bare``, the benchmark's baseline: a
DRF view with no authentication, no permission check and no database, served
by the same process and middleware, so the difference to it is what the
agents endpoints themselves cost."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns


class BareView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"data": {"ok": True}})


urlpatterns = [path("bench/bare", BareView.as_view()), *product_urlpatterns]
