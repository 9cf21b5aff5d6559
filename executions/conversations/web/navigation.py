"""The conversations app's agent tab in the console."""

from core.web.navigation import Tab, register_tab


def register() -> None:
    register_tab("agent", Tab("chat", "Chat", "agent-chat", order=50))
