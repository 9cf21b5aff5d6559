"""``core.process_loop.ProcessLoop``: one running event loop per process, started on first use."""

import asyncio
import contextvars
import threading

from core.process_loop import ProcessLoop


def _stop(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon_threadsafe(loop.stop)


def test_the_loop_runs_in_its_named_daemon_thread():
    process_loop = ProcessLoop("test-process-loop")
    loop, started = process_loop.ensure()
    try:
        assert started is True
        assert loop.is_running()

        async def where():
            return threading.current_thread().name, threading.current_thread().daemon, asyncio.get_running_loop()

        assert process_loop.submit(where()).result(timeout=5) == ("test-process-loop", True, loop)
    finally:
        _stop(loop)


def test_a_second_use_gets_the_same_loop_and_a_stopped_one_is_started_again():
    process_loop = ProcessLoop("test-process-loop-again")
    first, _ = process_loop.ensure()
    again, started_again = process_loop.ensure()
    assert (again, started_again) == (first, False)
    serving = next(thread for thread in threading.enumerate() if thread.name == "test-process-loop-again")
    _stop(first)
    serving.join(timeout=5)  # its run_forever returns once the loop stops
    fresh, started = process_loop.ensure()
    try:
        assert started is True and fresh is not first and fresh.is_running()
    finally:
        _stop(fresh)


def test_a_coroutine_runs_in_an_empty_context():
    marker = contextvars.ContextVar("marker", default="unset")
    marker.set("the caller's")
    process_loop = ProcessLoop("test-process-loop-context")

    async def read():
        return marker.get()

    try:
        assert process_loop.submit(read()).result(timeout=5) == "unset"
    finally:
        _stop(process_loop.ensure()[0])
