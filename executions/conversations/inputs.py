"""What clients send to threads and chat, validated by the services."""

from django.conf import settings
from rest_framework import serializers

from agents.config import ModelRefSerializer
from core.validation import ObjectSerializer, StrictSerializer
from executions.conversations.models import MultitaskStrategy

TITLE_MAX = 200
SUMMARY_MAX = 50_000


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError("Must not contain NUL characters.")
    return value


class ThreadCreateSerializer(ObjectSerializer, StrictSerializer):
    title = serializers.CharField(max_length=TITLE_MAX, required=False, validators=[_no_nul],
                                  help_text='Default "New Conversation", then the first words of the first message.')
    multitask_strategy = serializers.ChoiceField(choices=MultitaskStrategy.choices, required=False,
                                                 help_text="Default: the agent's session policy.")


class ThreadUpdateSerializer(ObjectSerializer, StrictSerializer):
    title = serializers.CharField(max_length=TITLE_MAX, required=False, validators=[_no_nul])
    archived = serializers.BooleanField(required=False)
    multitask_strategy = serializers.ChoiceField(choices=MultitaskStrategy.choices, allow_blank=True, required=False,
                                                 help_text="Blank: the agent's session policy decides.")
    summary = serializers.CharField(max_length=SUMMARY_MAX, allow_blank=True, required=False, validators=[_no_nul],
                                    help_text="The stored summary of the older messages (context policy summarise).")
    model_override = ModelRefSerializer(allow_null=True, required=False, help_text=(
        "{provider, model} for this thread's turns; only when the agent's session policy allows it."))


class ChatMessageField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=settings.AGENTRY_CHAT_MAX_MESSAGE_CHARS, validators=[_no_nul],
                         help_text="What the user says; a message starting with / is a slash command.", **kwargs)


class ChatRequestSerializer(ObjectSerializer, StrictSerializer):
    thread_id = serializers.UUIDField()
    message = ChatMessageField()
