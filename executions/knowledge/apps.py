from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "executions.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from executions.knowledge import files  # noqa: F401 - connects the file clean-up
        from executions.knowledge.web import navigation

        navigation.register()
