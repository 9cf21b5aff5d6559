"""The accounts app's entries in the console's navigation."""

from core.web.navigation import NavItem, register_nav


def register() -> None:
    register_nav(NavItem("Tokens", "tokens", order=80, section="tokens"))
