"""Writes and rules for agents, their members and their audit log."""

from agents.errors import NameTaken  # noqa: F401
from agents.services.agents import (  # noqa: F401
    agent_create,
    agent_delete,
    agent_duplicate,
    agent_etag,
    agent_put,
    agent_replace,
    agent_set_status,
    agent_update,
    derive_slug,
    merge_patch,
)
from agents.services.audit import agent_snapshot, audit_record  # noqa: F401
from agents.services.members import (  # noqa: F401
    member_add,
    member_change_role,
    member_remove,
    ownership_transfer,
)
