"""The agents app's entries in the console's navigation and agent tabs."""

from core.web.navigation import NavItem, Tab, register_nav, register_tab


def register() -> None:
    register_nav(NavItem("Agents", "agents", order=20, section="agents"))
    # console-agents: the configuration and pipeline tabs.
    register_tab("agent", Tab("configuration", "Configuration", "agent-config", order=10))
    register_tab("agent", Tab("pipeline", "Pipeline", "agent-pipeline", order=20))
    _register_lifecycle()


def _register_lifecycle() -> None:
    # console-lifecycle: versions, memories, skills, schedules, webhook, members, audit log, export.
    register_nav(NavItem("Skills", "skills", order=40, section="skills"))
    for tab in (Tab("versions", "Versions", "agent-versions", order=30),
                Tab("memories", "Memories", "agent-memories", order=70),
                Tab("skills", "Skills", "agent-skills", order=80),
                Tab("schedules", "Schedules", "agent-schedules", order=100),
                Tab("webhooks", "Webhook", "agent-webhooks", order=110, min_role="admin"),
                Tab("members", "Members", "agent-members", order=120),
                Tab("audit", "Audit log", "agent-audit", order=130),
                Tab("export", "Export", "agent-export", order=140, min_role="admin")):
        register_tab("agent", tab)
