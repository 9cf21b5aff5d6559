"""The thread's WebSocket: ``/ws/agents/{agent}/threads/{thread}/`` (API.md §6).

Every socket open on a thread receives every event of every turn stored
from the moment its handshake completes, however the turn was started (SSE,
another socket), as JSON text frames
``{"id": <seq>, "event": "<name>", "data": {...}}``.  A socket sends
``{"type": "message", "content": "…"}`` to chat and ``{"type": "cancel"}`` to
stop the running turn; a refusal comes back as ``{"event": "error", "data":
{"error": <problem>}}`` and the socket stays open.  ``?last_event_id=N``
replays what came after event N first.

Close codes: 4401 not authenticated, 4403 the role or the token's scope does
not allow reading, 4404 no such agent or thread (or not visible).
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import aclosing
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.actor import Actor
from accounts.models import Scope
from accounts.roles import Role
from agents.selectors import agent_get_for_user
from core.errors import ApiError, NotFound, problem_body
from core.validation import validated
from executions.conversations import journal
from executions.conversations.inputs import ChatRequestSerializer
from executions.conversations.selectors import thread_get
from executions.conversations.services.turns import chat_submit, turn_cancel

logger = logging.getLogger("agentry.conversations")

UNAUTHENTICATED, FORBIDDEN, NOT_FOUND = 4401, 4403, 4404


def _problem(status: int, code: str, detail: str, errors: dict | None = None) -> dict:
    return {"event": "error", "data": {"error": problem_body(status=status, code=code, detail=detail,
                                                             errors=errors)}}


class ThreadConsumer(AsyncWebsocketConsumer):
    # No channel of its own on the layer: the socket follows its thread through
    # ``journal.follow`` (the live feed), which works with or without Redis.
    channel_layer_alias = None

    async def connect(self):
        # Everything, the seq to follow from included, is read before the
        # handshake completes: a client that sees the socket open is sure to
        # receive every event stored from then on.  A refusal accepts and then
        # closes, because a close code only reaches the client on an open socket.
        self.follower = None
        refusal = await self._admission()
        await self.accept()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.follower = asyncio.ensure_future(self._forward(self.after))

    async def _admission(self) -> int | None:
        """Resolve who the socket is for and what it follows (``actor``,
        ``agent``, ``thread`` and ``after``, the seq it follows from): the
        close code that refuses it, or None once it may follow its thread."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return UNAUTHENTICATED
        self.actor = Actor(user=user, token=self.scope.get("auth"))
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            self.agent = await database_sync_to_async(agent_get_for_user)(
                user=user, ref=kwargs["agent"], representation=False)
            self.thread = await database_sync_to_async(thread_get)(agent=self.agent, user=user, ref=kwargs["thread"])
        except NotFound:
            return NOT_FOUND
        if Scope.AGENTS_READ not in self.actor.scopes:
            return FORBIDDEN
        self.after = self._last_event_id()
        if self.after is None:
            self.after = await database_sync_to_async(journal.last_seq)(self.thread.pk)
        return None

    def _last_event_id(self) -> int | None:
        query = parse_qs((self.scope.get("query_string") or b"").decode("latin-1"))
        raw = (query.get("last_event_id") or [None])[0]
        try:
            return max(0, int(raw)) if raw is not None else None
        except ValueError:
            return None

    async def _forward(self, after: int) -> None:
        try:
            async with aclosing(journal.follow(self.thread.pk, after)) as records:
                async for record in records:
                    if record is not None:
                        await self.send(text_data=json.dumps(
                            {"id": record["seq"], "event": record["event"], "data": record["data"]}, default=str))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Forwarding thread %s to a WebSocket failed", self.thread.pk)
            await self.close(code=1011)

    async def disconnect(self, code):
        if getattr(self, "follower", None) is not None:
            self.follower.cancel()
            await asyncio.gather(self.follower, return_exceptions=True)

    async def receive(self, text_data=None, bytes_data=None):
        if getattr(self, "follower", None) is None:
            return  # refused at connect; the close is on its way
        try:
            content = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            await self._send(_problem(400, "validation_error", "Frames are JSON objects."))
            return
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "message":
                await self._chat(content)
            elif kind == "cancel":
                await self._cancel()
            else:
                await self._send(_problem(400, "validation_error", 'type must be "message" or "cancel".',
                                          {"type": ['Must be "message" or "cancel".']}))
        except ApiError as exc:
            await self._send(_problem(exc.status, exc.code, exc.detail, exc.errors))

    def _may_chat(self):
        role = self.agent.role
        if role is None or not Role(role).at_least(Role.OPERATOR):
            raise ApiError("Chatting needs the operator role on this agent.", code="permission_denied", status=403)
        if Scope.AGENTS_RUN not in self.actor.scopes:
            raise ApiError("This API token lacks the agents:run scope.", code="permission_denied", status=403)

    async def _chat(self, content: dict) -> None:
        self._may_chat()
        await database_sync_to_async(self._submit)(content.get("content"))

    def _submit(self, text) -> None:
        """The same checks and service as ``POST /chat``."""
        body = validated(ChatRequestSerializer(data={"thread_id": str(self.thread.pk), "message": text}))
        agent = agent_get_for_user(user=self.actor.user, ref=str(self.agent.pk), representation=False)
        thread = thread_get(agent=agent, user=self.actor.user, ref=body["thread_id"], write=True)
        chat_submit(agent=agent, thread=thread, actor=self.actor, content=body["message"])

    async def _cancel(self) -> None:
        self._may_chat()
        thread = await database_sync_to_async(thread_get)(agent=self.agent, user=self.actor.user,
                                                          ref=self.thread.pk, write=True)
        await database_sync_to_async(turn_cancel)(thread=thread)

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload, default=str))
