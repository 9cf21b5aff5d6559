"""The reaper's index covers live executions only: running ones by heartbeat,
queued ones by when they were sent.  Over every row it also served queries
for finished statuses, where SQLite took it and read every finished run."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('agents', '0007_sort_key_indexes'),
        ('executions', '0005_artifacts_and_citations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='execution',
            name='execution_status_heartbeat',
        ),
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(condition=models.Q(('status', 'running')), fields=['heartbeat_at'], name='execution_running_heartbeat'),
        ),
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(condition=models.Q(('status', 'queued')), fields=['enqueued_at'], name='execution_queued_enqueued'),
        ),
    ]
