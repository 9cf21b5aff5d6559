"""What every node type declares, and the defaults it inherits.

A node type is a class: its ``type``, the ``data`` keys it needs, the keys
that hold templates, whether an agent may call it as a tool, and ``run``.
Pipeline validation, config validation, the wizard and the runner read these
declarations through the registry (``nodes/__init__.py``); nothing else
lists node types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from executions.engine.context import RunContext


class Node:
    """A node type.  A concrete class names its ``type`` and defines
    ``async run(cls, node, ctx) -> StepOutcome`` (a classmethod), which the
    runner records as one step of the trace; a shared base that is not a
    node type itself is declared with ``abstract=True``."""

    type: ClassVar[str]
    # Keys ``data`` must hold, each a non-empty value of the given type.
    required_data: ClassVar[Mapping[str, type]] = {}
    # Keys of ``data`` that hold templates (or objects and lists of them), checked on save.
    template_keys: ClassVar[tuple[str, ...]] = ()
    # Whether an agent node (``config.tools``) may call it.
    tool: ClassVar[bool] = False
    # For a tool: the JSON Schema of the function's arguments and the description
    # the model gets when ``config.tools`` gives none.
    parameters: ClassVar[dict | None] = None
    tool_description: ClassVar[str] = ""
    # What the wizard's connector tiles may call it, besides its type.
    connector_aliases: ClassVar[tuple[str, ...]] = ()
    # Whether it calls a model (its cost can be estimated from the model's prices).
    calls_model: ClassVar[bool] = False
    # How its finished step reads in a chat-like stream (seed 001's ``step`` events).
    stream_role: ClassVar[str] = "tool"

    @classmethod
    def data_problems(cls, data: dict) -> Iterable[tuple[str, str]]:
        """This type's own checks of ``data``, beyond required keys and
        templates, as ``(key, message)`` pairs."""
        return ()

    @classmethod
    def describe_input(cls, node: dict, ctx: RunContext) -> Any:
        """What the trace shows as the step's input."""
        return None

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        if not isinstance(cls.__dict__.get("type"), str) or not callable(getattr(cls, "run", None)):
            raise TypeError(f"{cls.__name__} must declare its type and define run(node, ctx).")
