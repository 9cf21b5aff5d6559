"""Leaf-by-leaf differences between two JSON documents: what the audit log
records and what a version diff shows."""

from __future__ import annotations

_MISSING = object()


def diff(before: dict, after: dict, prefix: str = "") -> dict:
    """``{"dotted.path": {"old": …, "new": …}}`` for every leaf that differs;
    lists are compared whole."""
    changes = {}
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.update(diff(old, new, path))
        elif old != new:
            changes[path] = {"old": None if old is _MISSING else old, "new": None if new is _MISSING else new}
    return changes
