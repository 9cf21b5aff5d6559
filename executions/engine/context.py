"""What a running pipeline carries around: the agent's definition, the input,
the outputs so far, the recorder that writes the trace, the catalogue that
reads what nodes need from the installation, and the workspace the built-in
tools write the agent's memories and artifacts to.

The engine imports no app and no ORM: the recorder, the catalogue and the
workspace are protocols, implemented in ``executions.services``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from executions.llm.base import ProviderSettings


class NodeFailure(Exception):
    """A node could not finish; ``code`` is the problem code the run answers with."""

    code = "pipeline_error"

    def __init__(self, message: str, *, node_id: str | None = None, details: dict | None = None,
                 outcome: StepOutcome | None = None):
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.details = details or {}
        self.outcome = outcome  # usage spent before the failure, kept on the failed step

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "node_id": self.node_id, **self.details}


class NodeTimeout(NodeFailure):
    """A node ran past its own ``data.timeout``."""

    code = "timeout"


class ProviderFailure(NodeFailure):
    """Every provider and fallback failed (or an upstream HTTP call did)."""

    code = "provider_error"


class InputInvalid(NodeFailure):
    """The input does not match the pipeline's input schema."""

    code = "validation_error"

    def __init__(self, message: str, *, errors: dict[str, list[str]], node_id: str | None = None):
        super().__init__(message, node_id=node_id, details={"errors": errors})
        self.errors = errors


@dataclass(frozen=True)
class AgentDefinition:
    """The agent as it runs: a snapshot, so edits during a run change nothing."""

    id: uuid.UUID
    slug: str
    owner_id: uuid.UUID
    config: dict
    pipeline: dict
    version: int | None = None


@dataclass
class StepOutcome:
    """What a node hands back: its output, and for LLM nodes what it cost."""

    output: Any
    branch: bool | None = None  # a condition node's verdict
    provider: str = ""
    model: str = ""
    tokens_prompt: int = 0
    tokens_completion: int = 0
    cost_usd: Decimal = Decimal(0)
    attempts: list[dict] = field(default_factory=list)

    def add_usage(self, other: StepOutcome) -> None:
        self.tokens_prompt += other.tokens_prompt
        self.tokens_completion += other.tokens_completion
        self.cost_usd += other.cost_usd
        self.attempts.extend(other.attempts)


class Recorder(Protocol):
    """Writes the trace and the event stream (``executions.services.recording``)."""

    async def step_started(self, node_id: str, node_type: str, step_input: Any) -> Any: ...

    async def step_finished(self, step: Any, *, status: str, outcome: StepOutcome | None,
                            error: dict | None) -> None: ...

    async def event(self, kind: str, data: dict) -> None: ...

    async def delta(self, node_id: str, text: str) -> None: ...


class Catalogue(Protocol):
    """What nodes read from the installation: providers, the other agents a
    run may call, an agent's env (``executions.services.catalogue``)."""

    async def provider(self, ref: str) -> ProviderSettings:
        """The provider an agent's ``provider`` reference (id or name) names.
        Raises ``LookupError`` when there is none, ``ValueError`` when its
        stored key no longer decrypts."""

    async def subagent(self, ref: str, user_id: uuid.UUID | None) -> AgentDefinition:
        """The agent ``ref`` (id or slug) for a subagent node, if ``user_id``
        may run it and it is active; ``LookupError`` says why not."""

    async def env(self, definition: AgentDefinition) -> dict[str, str]:
        """``env`` as ``definition``'s templates see it, secrets decrypted."""

    async def knowledge_search(self, definition: AgentDefinition, query: str, *, top_k: int | None,
                               tags: list[str] | None) -> dict:
        """Search ``definition``'s agent's knowledge base: ``{"mode", "note",
        "results": [{document_id, filename, page, chunk, score, text, retrievers}]}``."""


class Workspace(Protocol):
    """Where the built-in tools keep what a run makes (``executions.services.workspace``):
    memories (``remember``) and artifacts (``save_artifact``), written as the
    run's user.  Both raise ``ValueError`` with a message the model may read
    when the input is refused, and answer a short confirmation."""

    async def remember(self, ctx: RunContext, content: str) -> dict:
        """Store ``content`` as a memory of the run's agent: ``{"memory_id", "saved": True}``."""

    async def save_artifact(self, ctx: RunContext, *, title: str, content: str, artifact_type: str,
                            summary: str, tags: list[str]) -> dict:
        """Save an artifact of the run's agent (with the run's execution and
        thread): ``{"artifact_id", "title", "artifact_type", "saved": True}``."""


class Tool(Protocol):
    """A node type an agent node may call as a tool (``nodes.TOOLS``)."""

    async def run(self, node: dict, ctx: RunContext) -> StepOutcome: ...


@dataclass
class RunContext:
    execution_id: uuid.UUID
    agent: AgentDefinition
    input: dict
    env: dict[str, str]
    recorder: Recorder
    catalogue: Catalogue
    user_id: uuid.UUID | None = None  # who asked for the run; subagents are checked against them
    thread_id: uuid.UUID | None = None  # the conversation a chat turn belongs to
    workspace: Workspace | None = None  # where remember and save_artifact write; None: they fail
    memory: Any = ""
    # A conversation's turn: the earlier messages agent nodes continue from,
    # and what the system prompt adds for it (operating prompt, skills, memories).
    history: tuple = ()
    system_context: str = ""
    stream_deltas: bool = False
    depth: int = 0
    node_prefix: str = ""
    outputs: dict[str, dict] = field(default_factory=dict)
    llm_clients: dict = field(default_factory=dict)  # one client per provider for the run; closed at the end
    # Set by ``run_pipeline``, so nodes that run other nodes import neither the runner nor the registry:
    runner: Callable[[RunContext, dict], Awaitable[Any]] | None = None  # runs a subagent's pipeline
    tools: Mapping[str, Tool] = field(default_factory=dict)  # what an agent node's tools run as, by type
    # Knowledge passages the run's answers used ({document_id, filename, page, chunk}), kept on the execution.
    citations: list[dict] = field(default_factory=list)

    def template_context(self) -> dict:
        return {"input": self.input, "nodes": self.outputs, "env": self.env, "memory": self.memory}
