"""Counting trips to the database thread: what code sends through ``sync_to_async``."""

from collections.abc import Callable

from asgiref.sync import sync_to_async


def count_trips(monkeypatch, *modules, name: Callable[[Callable], str] = lambda func: func.__name__) -> list[str]:
    """Make each module's ``sync_to_async`` record ``name(func)`` of every
    function it sends to the thread, in order; returns the list it fills."""
    sent = []

    def counting(func, **kwargs):
        sent.append(name(func))
        return sync_to_async(func, **kwargs)

    for module in modules:
        monkeypatch.setattr(module, "sync_to_async", counting)
    return sent
