"""Migrations whose SQL differs by database: triggers, full-text indexes."""

from django.db import migrations


def statements_by_vendor(forward: dict[str, list[str]], backward: dict[str, list[str]]) -> migrations.RunPython:
    """An operation that runs, on each database, the statements listed for its
    vendor (``connection.vendor``: ``"sqlite"``, ``"postgresql"``), in order, and
    nothing on a vendor not listed; ``backward`` undoes it the same way."""
    def run(statements):
        def execute(apps, schema_editor):
            for statement in statements.get(schema_editor.connection.vendor, ()):
                schema_editor.execute(statement)
        return execute
    return migrations.RunPython(run(forward), run(backward))
