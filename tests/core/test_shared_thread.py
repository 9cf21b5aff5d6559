"""``core.shared_thread.others_waiting``: whether calls queue for the database thread."""

import threading

from asgiref.sync import SyncToAsync

from core import shared_thread


def test_nothing_waits_for_an_idle_thread():
    SyncToAsync.single_thread_executor.submit(lambda: None).result(timeout=10)
    assert shared_thread.others_waiting() is False


def test_a_call_queued_behind_the_running_one_waits():
    running, release = threading.Event(), threading.Event()

    def hold():
        running.set()
        release.wait(10)
        return shared_thread.others_waiting()  # seen from the thread itself, as turn_take sees it

    executor = SyncToAsync.single_thread_executor
    held = executor.submit(hold)
    assert running.wait(10)
    queued = executor.submit(shared_thread.others_waiting)
    assert shared_thread.others_waiting() is True
    release.set()
    assert held.result(timeout=10) is True  # the queued call was still waiting
    assert queued.result(timeout=10) is False  # and once it ran, nothing was behind it


def test_an_executor_without_a_visible_queue_counts_as_busy(monkeypatch):
    # A future Python without ThreadPoolExecutor._work_queue: the choice that makes nobody wait.
    monkeypatch.setattr(SyncToAsync, "single_thread_executor", object())
    assert shared_thread.others_waiting() is True
