"""Providers and memories moved from the executions app to agents without
touching their tables: rows written before the move are read after it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("agents", "0002_lifecycle"), ("executions", "0003_memory")]
AFTER = [("agents", "0003_providers_and_memories"), ("executions", "0004_providers_and_memories_move_to_agents")]


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        # given a provider and a memory written by the executions app's models
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        user = old.get_model("accounts", "User").objects.create(username="u", email="u@example.com")
        agent = old.get_model("agents", "Agent").objects.create(slug="a", name="A", owner=user)
        old.get_model("executions", "Provider").objects.create(name="p1", kind="echo")
        old.get_model("executions", "Memory").objects.create(agent=agent, content="remember me")

        # when the move is applied
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps

        # then the agents app reads the same rows from the same tables
        assert list(new.get_model("agents", "Provider").objects.values_list("name", "kind")) == [("p1", "echo")]
        assert list(new.get_model("agents", "Memory").objects.values_list("content", flat=True)) == ["remember me"]
        assert not {"executions.provider", "executions.memory"} & {
            f"{m._meta.app_label}.{m._meta.model_name}" for m in new.get_models()}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
