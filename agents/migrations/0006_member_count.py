"""``agents_agentmembercount``: each user's number of agent memberships,
kept by triggers on ``agents_agentmember`` in each database's own form, and
counted once from the rows already there.

- SQLite: a row trigger per event.  SQLite has one writer at a time, so two
  triggers never wait on each other.
- PostgreSQL: a statement trigger per event, reading the statement's rows
  from its transition tables.  It locks the counts it changes in user order
  before changing them, so two statements over the same users (deleting two
  agents that share members) cannot deadlock on them, and it adds to a count
  with ``ON CONFLICT DO UPDATE``, so two first memberships of one user made at
  once both count.  An update trigger with transition tables cannot name
  its columns, so it runs for every update of member rows and changes
  nothing where no row changed user.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.vendor_sql import statements_by_vendor

COUNTS, MEMBERS = "agents_agentmembercount", "agents_agentmember"
BACKFILL = f"INSERT INTO {COUNTS} (user_id, agents) SELECT user_id, COUNT(*) FROM {MEMBERS} GROUP BY user_id"

_SQLITE_ADD = (f"INSERT INTO {COUNTS} (user_id, agents) VALUES (new.user_id, 1) "
               f"ON CONFLICT (user_id) DO UPDATE SET agents = agents + 1;")
_SQLITE_REMOVE = f"UPDATE {COUNTS} SET agents = agents - 1 WHERE user_id = old.user_id;"
SQLITE_FORWARD = [
    f"CREATE TRIGGER agents_member_count_insert AFTER INSERT ON {MEMBERS} BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER agents_member_count_delete AFTER DELETE ON {MEMBERS} BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER agents_member_count_update AFTER UPDATE OF user_id ON {MEMBERS} "
    f"WHEN old.user_id IS NOT new.user_id BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    BACKFILL,
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS agents_member_count_{event}" for event in ("insert", "delete", "update")]

# Each event's changes as (user_id, n) rows, from its transition tables.
_POSTGRES_CHANGES = {
    "insert": "SELECT user_id, 1 AS n FROM new_rows",
    "delete": "SELECT user_id, -1 AS n FROM old_rows",
    "update": "SELECT user_id, -1 AS n FROM old_rows UNION ALL SELECT user_id, 1 AS n FROM new_rows",
}
_POSTGRES_TRANSITIONS = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
                         "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}


def _postgres_function(event: str) -> str:
    delta = f"SELECT user_id, SUM(n) AS n FROM ({_POSTGRES_CHANGES[event]}) AS change GROUP BY user_id"
    return f"""CREATE FUNCTION agents_member_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM {COUNTS} WHERE user_id IN (SELECT user_id FROM ({delta}) AS delta WHERE n <> 0)
        ORDER BY user_id FOR UPDATE;
    UPDATE {COUNTS} AS counted SET agents = counted.agents + delta.n
        FROM ({delta}) AS delta WHERE counted.user_id = delta.user_id AND delta.n < 0;
    INSERT INTO {COUNTS} AS counted (user_id, agents)
        SELECT user_id, n FROM ({delta}) AS delta WHERE n > 0 ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET agents = counted.agents + EXCLUDED.agents;
    RETURN NULL;
END $$"""


POSTGRES_FORWARD = [
    statement
    for event in ("insert", "delete", "update")
    for statement in (
        _postgres_function(event),
        f"CREATE TRIGGER agents_member_count_{event} AFTER {event.upper()} ON {MEMBERS} "
        f"REFERENCING {_POSTGRES_TRANSITIONS[event]} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION agents_member_count_{event}()",
    )
] + [BACKFILL]
POSTGRES_BACKWARD = [
    statement
    for event in ("insert", "delete", "update")
    for statement in (f"DROP TRIGGER IF EXISTS agents_member_count_{event} ON {MEMBERS}",
                      f"DROP FUNCTION IF EXISTS agents_member_count_{event}()")
]


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0005_member_user_agent_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AgentMemberCount',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('agents', models.PositiveIntegerField(default=0)),
            ],
        ),
        statements_by_vendor({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
                             {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
    ]
