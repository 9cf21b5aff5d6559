"""A thread's lease: taken only when nobody holds a live one, renewed and let go only by its holder."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from executions.conversations.lease import driver_claim, driver_name, driver_release, driver_renew
from executions.conversations.models import Thread

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("driver", "seen_seconds_ago", "taken"), [
    ("", None, True),                    # nobody holds it
    ("", 0, True),                       # let go (a name cleared, a heartbeat left)
    ("host:1:ab12cd34", None, True),     # a name without a heartbeat
    ("host:1:ab12cd34", "stale", True),  # its driver stopped renewing: dead
    ("host:1:ab12cd34", 0, False),       # a live driver renewed it just now
], ids=["free", "let-go", "no-heartbeat", "stale", "live"])
def test_a_lease_is_taken_unless_a_live_driver_holds_it(make_agent, user, driver, seen_seconds_ago, taken):
    if seen_seconds_ago == "stale":
        seen_seconds_ago = settings.AGENTRY_EXECUTION_STALE_SECONDS + 5
    seen = None if seen_seconds_ago is None else timezone.now() - timedelta(seconds=seen_seconds_ago)
    thread = Thread.objects.create(agent=make_agent(user), created_by=user, driver=driver, driver_seen_at=seen)
    name = driver_name()

    assert driver_claim(thread.pk, name) is taken

    stored = Thread.objects.get(pk=thread.pk)
    if taken:
        assert stored.driver == name and timezone.now() - stored.driver_seen_at < timedelta(seconds=5)
    else:
        assert (stored.driver, stored.driver_seen_at) == (driver, seen)


def test_only_the_holder_renews_and_lets_go(make_agent, user):
    thread = Thread.objects.create(agent=make_agent(user), created_by=user)
    holder, other = driver_name(), driver_name()
    assert driver_claim(thread.pk, holder) and not driver_claim(thread.pk, other)

    assert driver_renew(thread.pk, holder) and not driver_renew(thread.pk, other)
    driver_release(thread.pk, other)
    assert Thread.objects.get(pk=thread.pk).driver == holder
    driver_release(thread.pk, holder)
    stored = Thread.objects.get(pk=thread.pk)
    assert (stored.driver, stored.driver_seen_at, stored.active_execution_id) == ("", None, None)
    assert driver_claim(thread.pk, other)
