# Providers and memories now belong to the agents app (its 0003 takes over
# their tables as they are): drop them from this app's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0003_memory'),
        ('agents', '0003_providers_and_memories'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='provider', name='created_by'),
                migrations.DeleteModel(name='Memory'),
                migrations.DeleteModel(name='Provider'),
            ],
            database_operations=[],
        ),
    ]
