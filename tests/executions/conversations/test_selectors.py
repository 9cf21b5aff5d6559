"""Who drives a thread: read from a row the request has (``driver_live``) or
from the table (``thread_busy``), the answer is the same."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from executions.conversations.models import Thread
from executions.conversations.selectors import driver_live, thread_busy


@pytest.mark.django_db
@pytest.mark.parametrize(("driver", "seen_seconds_ago", "busy"), [
    ("", 0, False),                       # nobody holds the lease
    ("host:1:ab12cd34", 0, True),         # a driver renewed it just now
    ("host:1:ab12cd34", None, False),     # a name without a heartbeat
    ("host:1:ab12cd34", "stale", False),  # its driver stopped renewing: dead
], ids=["free", "live", "no-heartbeat", "stale"])
def test_a_row_read_and_the_table_agree_on_whether_a_driver_is_live(make_agent, user, driver, seen_seconds_ago,
                                                                     busy):
    if seen_seconds_ago == "stale":
        seen_seconds_ago = settings.AGENTRY_EXECUTION_STALE_SECONDS + 5
    seen = None if seen_seconds_ago is None else timezone.now() - timedelta(seconds=seen_seconds_ago)
    thread = Thread.objects.create(agent=make_agent(user), created_by=user, driver=driver, driver_seen_at=seen)

    assert driver_live(Thread.objects.get(pk=thread.pk)) is busy
    assert thread_busy(thread.pk) is busy
