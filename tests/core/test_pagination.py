"""The pagination class refuses to run on a key that cannot order every
row; a page read keys first is the page read whole."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.models import ApiToken
from core.pagination import AgentryPagination, rows_in_order


class _View:
    sort_fields = ("last_used_at",)
    default_sort = "last_used_at"


@pytest.mark.django_db
def test_nullable_sort_field_is_a_configuration_error():
    request = Request(APIRequestFactory().get("/"))
    with pytest.raises(ImproperlyConfigured):
        AgentryPagination().paginate_queryset(ApiToken.objects.all(), request, _View())


@pytest.fixture
def tokens(make_user, make_token):
    """Seven tokens of two users, four of them made at the same instant (the id breaks those ties)."""
    users = [make_user("ana"), make_user("ben")]
    for i in range(7):
        make_token(users[i % 2], name=f"token {i}")
    instant = timezone.now() - timedelta(hours=1)
    ApiToken.objects.filter(pk__in=list(ApiToken.objects.values_list("pk", flat=True)[:4])).update(created_at=instant)
    return ApiToken.objects.select_related("user")


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("window", [(0, 3), (2, 5), (0, 100), (6, 7), (9, 12)])
def test_rows_in_order_keys_first_reads_the_same_rows_in_one_statement(tokens, descending, window,
                                                                       django_assert_num_queries):
    prefix = "-" if descending else ""
    ordering = [f"{prefix}created_at", f"{prefix}id"]
    expected = list(tokens.order_by(*ordering))[slice(*window)]
    with django_assert_num_queries(1):
        rows = rows_in_order(tokens, ordering, *window, keys_first=True)
        names = [row.user.username for row in rows]  # the related rows come in the same statement
    assert [row.pk for row in rows] == [row.pk for row in expected]
    assert names == [row.user.username for row in expected]
    assert rows_in_order(tokens, ordering, *window) == expected


def test_a_view_asking_for_its_keys_first_pages_as_any_other(tokens):
    class KeysFirst(_View):
        sort_fields = ("created_at",)
        default_sort = "-created_at"
        page_keys_first = True
        max_limit = 3

    seen, cursor = [], None
    while True:
        request = Request(APIRequestFactory().get("/", {"cursor": cursor} if cursor else {}))
        paginator = AgentryPagination()
        seen += [row.pk for row in paginator.paginate_queryset(tokens, request, KeysFirst())]
        cursor = paginator.meta()["next_cursor"]
        if cursor is None:
            break
    assert seen == [row.pk for row in tokens.order_by("-created_at", "-id")]
