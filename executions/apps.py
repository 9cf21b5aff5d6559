from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    """The pipeline engine, executions, threads and streaming (see DESIGN.md)."""

    name = "executions"
    verbose_name = "Executions"

    def ready(self):
        from executions.web import navigation

        navigation.register()
