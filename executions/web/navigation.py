"""The executions app's entries in the console's navigation and agent tabs."""

from core.web.navigation import NavItem, Tab, register_nav, register_tab


def register() -> None:
    register_nav(NavItem("Dashboard", "home", order=10, section=""))
    register_nav(NavItem("Executions", "executions", order=30, section="executions"))
    register_tab("agent", Tab("overview", "Overview", "agent", order=0))
    register_tab("agent", Tab("executions", "Executions", "agent-executions", order=40))
    # console-accounts: providers (staff) and an agent's artifacts.
    register_nav(NavItem("Providers", "providers", order=90, staff_only=True, section="providers"))
    register_tab("agent", Tab("artifacts", "Artifacts", "agent-artifacts", order=90))
