"""Task names are stored in broker messages and in beat's periodic task rows:
moving the code must never change them."""

from celery import current_app

from agents.services.schedules import HEARTBEAT_TASK, SCHEDULE_TASK
from executions import tasks
from executions.services.queue import RUN_TASK


def test_tasks_keep_the_names_stored_rows_and_messages_use():
    names = {"agents.fire_schedule": tasks.schedule_fire_task, "agents.fire_heartbeat": tasks.heartbeat_fire_task,
             "executions.run": tasks.execution_run_task, "executions.reap_stale": tasks.executions_reap_task}

    for name, task in names.items():
        assert task.name == name
        assert name in current_app.tasks  # what a worker finds when a stored row or message names it
    assert (SCHEDULE_TASK, HEARTBEAT_TASK, RUN_TASK) == ("agents.fire_schedule", "agents.fire_heartbeat",
                                                         "executions.run")
