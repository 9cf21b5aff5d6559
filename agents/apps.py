from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents"

    def ready(self):
        from django.core import checks

        from agents import representation_sql
        from agents.web import navigation

        navigation.register()
        checks.register(representation_sql.check_datetime_format)
