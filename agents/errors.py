"""Domain errors about agents that other modules and apps raise or catch.

They live apart from the services so that raising one (the executions app
refuses to run a paused agent) does not pull in the agents' service graph."""

from core.errors import ApiError


class NameTaken(ApiError):
    """An agent, schedule or provider name (or a slug) is already in use."""

    status, code = 409, "name_taken"


class AgentNotActive(ApiError):
    """The agent is paused or disabled, so it may not run or start."""

    status, code = 409, "agent_not_active"


class AgentNotRunning(ApiError):
    """The agent's runtime is stopped: chat waits until it is started (API.md §7)."""

    status, code = 409, "agent_not_running"
