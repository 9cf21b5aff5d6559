# Providers and memories move from the executions app to agents (what an agent
# *is*), keeping their tables: this changes Django's state only, and the
# executions app's 0004 drops them from its own state.

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


def _move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("provider", "memory"):
        if not content_type.objects.filter(app_label="agents", model=model).exists():
            content_type.objects.filter(app_label="executions", model=model).update(app_label="agents")


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0002_lifecycle'),
        ('executions', '0003_memory'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    state_operations = [
        migrations.CreateModel(
            name='Memory',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('conversation', 'Conversation'), ('episodic', 'Episodic'), ('semantic', 'Semantic'), ('rule', 'Rule')], default='semantic', max_length=16)),
                ('content', models.TextField()),
                ('metadata', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memories', to='agents.agent')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'memories',
                'db_table': 'executions_memory',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['agent', 'created_at', 'id'], name='memory_agent_created_id')],
            },
        ),
        migrations.CreateModel(
            name='Provider',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=64, unique=True)),
                ('kind', models.CharField(choices=[('openai', 'OpenAI-compatible'), ('anthropic', 'Anthropic'), ('echo', 'Echo (offline)')], max_length=16)),
                ('base_url', models.CharField(blank=True, default='', max_length=500)),
                ('api_key_ciphertext', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('models', models.JSONField(default=list)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'executions_provider',
                'ordering': ['name', 'id'],
                'indexes': [models.Index(fields=['created_at', 'id'], name='provider_created_id')],
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.Lower('name'), name='provider_name_ci_unique')],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
        # Admin history and permissions follow the models to their new app.
        migrations.RunPython(_move_content_types, migrations.RunPython.noop),
    ]
