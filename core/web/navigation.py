"""Registries the console's shell renders: the left navigation and the tabs of
an object's page (an agent's).  Each app registers its own entries from its
``AppConfig.ready()``, so the shell never imports the apps it links to and an
app's pages appear exactly when the app is installed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str          # a name in the ``console`` namespace
    order: int = 100
    staff_only: bool = False
    section: str = ""      # the first path segment it owns, for the "current" mark


@dataclass(frozen=True)
class Tab:
    key: str               # what a page sets as ``tab`` to mark itself current
    label: str
    url_name: str          # reversed with the object's reference as only argument
    order: int = 100
    min_role: str = "viewer"


_nav: dict[str, NavItem] = {}
_tabs: dict[str, dict[str, Tab]] = {}


def register_nav(item: NavItem) -> None:
    _nav[item.url_name] = item


def register_tab(kind: str, tab: Tab) -> None:
    """Add ``tab`` to the pages of objects of ``kind`` (e.g. ``"agent"``)."""
    _tabs.setdefault(kind, {})[tab.key] = tab


def nav_items(*, staff: bool) -> list[NavItem]:
    return sorted((item for item in _nav.values() if staff or not item.staff_only), key=lambda i: i.order)


def tabs_for(kind: str) -> list[Tab]:
    return sorted(_tabs.get(kind, {}).values(), key=lambda t: t.order)
