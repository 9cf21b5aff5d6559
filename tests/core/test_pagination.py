"""The pagination class refuses to run on a key that cannot order every row."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIRequestFactory

from accounts.models import ApiToken
from core.pagination import AgentryPagination


class _View:
    sort_fields = ("last_used_at",)
    default_sort = "last_used_at"


@pytest.mark.django_db
def test_nullable_sort_field_is_a_configuration_error():
    from rest_framework.request import Request

    request = Request(APIRequestFactory().get("/"))
    with pytest.raises(ImproperlyConfigured):
        AgentryPagination().paginate_queryset(ApiToken.objects.all(), request, _View())
