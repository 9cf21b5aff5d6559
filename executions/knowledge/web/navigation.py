"""The knowledge app's agent tab in the console."""

from core.web.navigation import Tab, register_tab


def register() -> None:
    register_tab("agent", Tab("knowledge", "Knowledge", "agent-knowledge", order=60))
