"""A thread's stored messages as the chat page shows them: turns.

A turn is a user message and the assistant message that answers it.  Turns
of a thread run one at a time, and the driver stamps a user message with the
time its turn starts (``status`` completed) before the answer is stored, so
among started user messages and answers, in order, each answer follows the
message it answers.  The last started message without an answer is the turn
running now (while the thread has a driver); messages still ``pending`` wait
for their turn; ``cancelled`` ones were dropped before it came.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from executions.conversations.models import Message, MessageRole, MessageStatus


@dataclass
class Turn:
    question: Message | None      # None: an answer whose message is gone (a direct write)
    answer: Message | None = None

    @property
    def message_id(self) -> str:
        return str(self.question.pk) if self.question is not None else ""

    @property
    def tool_cards(self) -> list[dict]:
        """The answer's tool calls with their arguments as readable JSON."""
        calls = self.answer.tool_calls if self.answer is not None else []
        return [{**call, "arguments": as_json_text(call.get("arguments"))} for call in calls or []]


def as_json_text(value) -> str:
    """Arguments arrive as a JSON string or an object; show them indented."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass
class Conversation:
    turns: list[Turn]
    queued: list[Message]         # pending user messages, in the order they will run
    dropped: list[Message]        # cancelled before their turn

    @property
    def open_turn(self) -> Turn | None:
        """The started turn without an answer (running, or stranded by a dead process)."""
        last = self.turns[-1] if self.turns else None
        return last if last is not None and last.question is not None and last.answer is None else None

    @property
    def answered_ids(self) -> list[str]:
        """The user messages whose turn the page shows finished: their events are skipped."""
        ids = [turn.message_id for turn in self.turns if turn.answer is not None and turn.question is not None]
        return ids + [str(message.pk) for message in self.dropped]


def conversation_from(messages) -> Conversation:
    turns: list[Turn] = []
    queued: list[Message] = []
    dropped: list[Message] = []
    for message in messages:
        if message.role == MessageRole.USER:
            if message.status == MessageStatus.PENDING:
                queued.append(message)
            elif message.status == MessageStatus.CANCELLED:
                dropped.append(message)
            else:
                turns.append(Turn(question=message))
        elif turns and turns[-1].answer is None and turns[-1].question is not None:
            turns[-1].answer = message
        else:
            turns.append(Turn(question=None, answer=message))
    return Conversation(turns=turns, queued=queued, dropped=dropped)
