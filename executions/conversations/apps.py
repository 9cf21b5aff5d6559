from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """Threads and their messages, chat turns, context and session policies,
    slash commands and the WebSocket consumer (DESIGN.md)."""

    name = "executions.conversations"
    label = "conversations"
    verbose_name = "Conversations"

    def ready(self):
        from executions.conversations.web import navigation

        navigation.register()
