"""Each sort key of the agents list indexed with the id that breaks its ties
(the key alone left agents sharing a time sorted in full on every page); the
keys' own single-column indexes, which these serve too, dropped."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0006_member_count'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='agent',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='agent',
            name='last_activity',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='agent',
            name='updated_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddIndex(
            model_name='agent',
            index=models.Index(fields=['updated_at', 'id'], name='agent_updated_id'),
        ),
        migrations.AddIndex(
            model_name='agent',
            index=models.Index(fields=['last_activity', 'id'], name='agent_last_activity_id'),
        ),
    ]
