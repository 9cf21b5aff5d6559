"""A chat turn's recorder: the execution's trace as for any run, and the
thread's events (deltas, tool calls and results) as the turn streams them."""

from __future__ import annotations

import time

from executions.conversations import journal as events
from executions.conversations.journal import Journal

MAX_TOOL_RESULT = 20_000


class ChatRecorder:
    """Wraps the execution's ``DatabaseRecorder`` (the engine's ``Recorder``)."""

    def __init__(self, inner, journal: Journal, *, turn_id: str, execution_id):
        self.inner, self.journal = inner, journal
        self.turn_id, self.execution_id = turn_id, execution_id
        self.started = time.monotonic()
        self.ttft_ms: int | None = None
        self.parts: list[str] = []
        self.tool_calls: list[dict] = []
        self.last_model_step = None  # the latest by sequence of the steps that called a model

    @property
    def text(self) -> str:
        """What was streamed so far (the partial answer of a cancelled turn)."""
        return "".join(self.parts)

    async def _emit(self, event: str, data: dict) -> None:
        await self.journal.emit(event, {**data, "message_id": self.turn_id}, execution_id=self.execution_id)

    async def step_started(self, node_id, node_type, step_input):
        return await self.inner.step_started(node_id, node_type, step_input)

    async def step_finished(self, step, *, status, outcome, error) -> None:
        await self.inner.step_finished(step, status=status, outcome=outcome, error=error)
        if step.model and (self.last_model_step is None or step.sequence > self.last_model_step.sequence):
            self.last_model_step = step

    @property
    def model_used(self) -> tuple[str, str]:
        """The provider and model of the turn's last model call, ``("", "")`` without one."""
        step = self.last_model_step
        return ("", "") if step is None else (step.provider, step.model)

    async def event(self, kind: str, data: dict) -> None:
        await self.inner.event(kind, data)
        if kind != "step":
            return
        for call in data.get("tool_calls") or ():
            self.tool_calls.append({"id": call["id"], "name": call["name"], "arguments": call["arguments"],
                                    "result": None})
            await self._emit(events.TOOL_CALL, {"id": call["id"], "name": call["name"],
                                                "arguments": call["arguments"]})
        if data.get("role") == "tool" and data.get("tool_call_id"):
            result = str(data.get("content", ""))[:MAX_TOOL_RESULT]
            for call in self.tool_calls:
                if call["id"] == data["tool_call_id"]:
                    call["result"] = result
            await self._emit(events.TOOL_RESULT, {"id": data["tool_call_id"], "name": data.get("name", ""),
                                                  "result": result})
        elif data.get("tool_calls"):
            # the text before a tool call is not the answer: start the answer afresh
            self.parts.clear()

    async def delta(self, node_id: str, text: str) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = int((time.monotonic() - self.started) * 1000)
        self.parts.append(text)
        await self._emit(events.DELTA, {"delta": {"content": text}})
