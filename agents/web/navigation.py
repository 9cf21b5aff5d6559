"""The agents app's entries in the console's navigation and agent tabs."""

from core.web.navigation import NavItem, register_nav


def register() -> None:
    register_nav(NavItem("Agents", "agents", order=20, section="agents"))
