"""The agents app's entries in the console's navigation and agent tabs."""

from core.web.navigation import NavItem, Tab, register_nav, register_tab


def register() -> None:
    register_nav(NavItem("Agents", "agents", order=20, section="agents"))
    # console-agents: the configuration and pipeline tabs.
    register_tab("agent", Tab("configuration", "Configuration", "agent-config", order=10))
    register_tab("agent", Tab("pipeline", "Pipeline", "agent-pipeline", order=20))
