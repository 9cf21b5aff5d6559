"""Threads, their messages, chat turns and their streams (API.md §6).

Reads need viewer + ``agents:read``; creating threads, chatting, renaming,
archiving, deleting and cancelling need operator + ``agents:run``, and only
on one's own threads (others' answer 404 for a write).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import Rule
from accounts.roles import Role
from agents.api.base import AGENT_PATH, NO_CONTENT, AgentScopedViewMixin, UserRefSerializer
from core.envelope import data_response, enveloped
from core.errors import ValidationFailed
from core.renderers import JSONRenderer
from core.validation import validated
from executions.api.sse import LAST_EVENT_ID, EventStreamRenderer, parse_last_event_id
from executions.conversations import journal, selectors
from executions.conversations.api.sse import sse_response, thread_stream, turn_stream
from executions.conversations.inputs import ChatRequestSerializer, ThreadCreateSerializer, ThreadUpdateSerializer
from executions.conversations.models import MessageRole, MessageStatus, Thread
from executions.conversations.services import threads, turns

READ = Rule(Scope.AGENTS_READ, Role.VIEWER)
CHAT = Rule(Scope.AGENTS_RUN, Role.OPERATOR)
THREAD_PATH = OpenApiParameter("thread", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Thread id.")
CHAT_EVENTS = OpenApiResponse(
    response=OpenApiTypes.STR,
    description='text/event-stream: per event `id: <seq>` and `data: {"event": "<name>", "data": {...}}` with names '
                "thread.message.created, thread.message.delta ({delta: {content}}), thread.run.tool_call ({id, name, "
                "arguments}), thread.run.tool_result ({id, name, result}), thread.run.completed ({status: completed|"
                "cancelled, message, usage, cost_usd, latency_ms, ttft_ms}) and thread.run.failed ({error: problem}); "
                "every event's data carries message_id, the user message the turn answers; the last two carry thread "
                "({id, title?, personality?}: what the turn changed) when it changed the thread. "
                "Ends with `data: [DONE]`.")


class ThreadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    thread_id = serializers.UUIDField(source="id", help_text="The same id (seed 004 clients read thread_id).")
    agent_id = serializers.UUIDField()
    title = serializers.CharField()
    message_count = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    total_cost_usd = serializers.FloatField()
    archived = serializers.BooleanField()
    archived_at = serializers.DateTimeField(allow_null=True)
    multitask_strategy = serializers.CharField(help_text="reject, interrupt or enqueue; blank: the agent's session "
                                                         "policy decides.")
    model_override = serializers.JSONField(allow_null=True)
    personality = serializers.CharField()
    summary = serializers.CharField()
    summary_through = serializers.DateTimeField(allow_null=True)
    running = serializers.SerializerMethodField(help_text="Whether a turn is running or waiting on the thread.")
    created_by = UserRefSerializer()
    session_started_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_running(self, thread) -> bool:
        return bool(thread.driver)


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=MessageRole.choices)
    content = serializers.CharField()
    status = serializers.ChoiceField(choices=MessageStatus.choices)
    command = serializers.CharField(help_text="The slash command this message is or answers.")
    tool_calls = serializers.JSONField(help_text="[{id, name, arguments, result}] in the order they ran.")
    citations = serializers.JSONField()
    tokens_used = serializers.IntegerField()
    tokens = serializers.SerializerMethodField()
    cost_usd = serializers.FloatField()
    provider = serializers.CharField()
    model = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    ttft_ms = serializers.IntegerField(allow_null=True, help_text="Time to the first streamed token.")
    error = serializers.JSONField(allow_null=True)
    execution_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_tokens(self, message) -> dict:
        return {"prompt": message.tokens_prompt, "completion": message.tokens_completion}


def _bool_param(request, name: str, default):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationFailed(f"{name} must be true or false.", errors={name: ["Must be true or false."]})


@extend_schema_view(
    list=extend_schema(summary="List the agent's threads", parameters=[
        AGENT_PATH,
        OpenApiParameter("archived", OpenApiTypes.BOOL, description="Archived threads instead (default false)."),
        OpenApiParameter("mine", OpenApiTypes.BOOL, description="Only the caller's own threads.")],
        responses=ThreadSerializer(many=True)),
    create=extend_schema(summary="Start a thread", parameters=[AGENT_PATH], request=ThreadCreateSerializer,
                         responses={201: enveloped(ThreadSerializer),
                                    429: OpenApiResponse(description="Session limit reached; see Retry-After.")}),
    retrieve=extend_schema(summary="Get a thread", parameters=[AGENT_PATH, THREAD_PATH],
                           responses=enveloped(ThreadSerializer)),
    partial_update=extend_schema(summary="Rename, archive, set the strategy, summary or session model",
                                 parameters=[AGENT_PATH, THREAD_PATH], request=ThreadUpdateSerializer,
                                 responses=enveloped(ThreadSerializer)),
    destroy=extend_schema(summary="Delete a thread and its messages", parameters=[AGENT_PATH, THREAD_PATH],
                          responses={204: NO_CONTENT}),
)
class ThreadViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``/agents/{agent}/threads`` and what hangs below one thread."""

    serializer_class = ThreadSerializer
    queryset = Thread.objects.none()  # for the schema
    agent_representation = False
    sort_fields = ("created_at", "updated_at")
    default_sort = "-updated_at"
    rules = {"list": READ, "retrieve": READ, "messages": READ, "stream": READ, "create": CHAT,
             "partial_update": CHAT, "destroy": CHAT, "destroy_by_query": CHAT, "cancel": CHAT}

    def get_renderers(self):
        if self.action == "stream":
            return [JSONRenderer(), EventStreamRenderer()]
        return super().get_renderers()

    def get_thread(self, *, write: bool = False, ref=None) -> Thread:
        return selectors.thread_get(agent=self.get_agent(), user=self.request.user,
                                    ref=ref or self.kwargs["thread"], write=write)

    def list(self, request, agent=None):
        mine = _bool_param(request, "mine", False)
        rows = selectors.thread_list(agent=self.get_agent(), archived=_bool_param(request, "archived", False),
                                     created_by=request.user if mine else None)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ThreadSerializer(page, many=True).data)

    def create(self, request, agent=None):
        thread = threads.thread_create(agent=self.get_agent(), actor=self.actor(), data=request.data)
        return data_response(ThreadSerializer(thread).data, status=http.HTTP_201_CREATED)

    def retrieve(self, request, agent=None, thread=None):
        return data_response(ThreadSerializer(self.get_thread()).data)

    def partial_update(self, request, agent=None, thread=None):
        updated = threads.thread_update(thread=self.get_thread(write=True), actor=self.actor(), data=request.data)
        return data_response(ThreadSerializer(updated).data)

    def destroy(self, request, agent=None, thread=None):
        threads.thread_delete(thread=self.get_thread(write=True), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Delete a thread named by ?thread_id= (seed 004)", operation_id="agents_threads_destroy_by_query",
        parameters=[AGENT_PATH, OpenApiParameter("thread_id", OpenApiTypes.UUID, required=True)],
        responses={204: NO_CONTENT})
    def destroy_by_query(self, request, agent=None):
        ref = request.query_params.get("thread_id") or request.query_params.get("threadId")
        if not ref:
            raise ValidationFailed("thread_id is required.", errors={"thread_id": ["This field is required."]})
        threads.thread_delete(thread=self.get_thread(write=True, ref=ref), actor=self.actor())
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(summary="The thread's messages, oldest first", parameters=[AGENT_PATH, THREAD_PATH],
                           responses=MessageSerializer(many=True))
    def messages(self, request, agent=None, thread=None):
        self.sort_fields, self.default_sort = ("created_at",), "created_at"
        page = self.paginate_queryset(selectors.message_list(thread=self.get_thread()))
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(summary="Stop the running turn", parameters=[AGENT_PATH, THREAD_PATH], request=None,
                         responses=enveloped(ThreadSerializer))
    def cancel(self, request, agent=None, thread=None):
        thread = self.get_thread(write=True)
        turns.turn_cancel(thread=thread)
        thread.refresh_from_db()
        return data_response(ThreadSerializer(thread).data)

    @extend_schema(summary="Follow the thread's events; resume with Last-Event-ID",
                         parameters=[AGENT_PATH, THREAD_PATH, LAST_EVENT_ID], responses={200: CHAT_EVENTS})
    def stream(self, request, agent=None, thread=None):
        thread = self.get_thread()
        return sse_response(thread_stream(thread.pk, parse_last_event_id(request)))


@extend_schema_view(
    create=extend_schema(
        summary="Send a message and stream the turn (SSE)", parameters=[AGENT_PATH], request=ChatRequestSerializer,
        responses={200: CHAT_EVENTS,
                   409: OpenApiResponse(description="agent_not_running, agent_not_active, or turn_in_progress "
                                                    "(multitask_strategy reject)."),
                   429: OpenApiResponse(description="Session limit reached; see Retry-After.")}),
)
class ChatViewSet(AgentScopedViewMixin, viewsets.GenericViewSet):
    """``POST /agents/{agent}/chat``: one turn, streamed as it happens.  The
    turn runs apart from the request: a client that disconnects loses nothing
    and can resume on ``/threads/{thread}/stream``."""

    serializer_class = ChatRequestSerializer  # what OPTIONS describes
    queryset = Thread.objects.none()  # for the schema
    agent_representation = False
    rules = {"create": CHAT}

    def get_renderers(self):
        return [JSONRenderer(), EventStreamRenderer()]

    def create(self, request, agent=None):
        body = validated(ChatRequestSerializer(data=request.data))
        agent = self.get_agent()
        thread = selectors.thread_get(agent=agent, user=request.user, ref=body["thread_id"], write=True)
        after = journal.last_seq(thread.pk, stored=thread.last_event_seq)
        message = turns.chat_submit(agent=agent, thread=thread, actor=self.actor(), content=body["message"])
        return sse_response(turn_stream(thread.pk, message.pk, after))

