from django.urls import path

from agents.web import (
                        agents,
                        audit,
                        config,
                        create,
                        members,
                        memories,
                        pipeline,
                        portability,
                        schedules,
                        skills,
                        versions,
                        webhooks,
)

urlpatterns = [
    path("agents/", agents.AgentListView.as_view(), name="agents"),
    # console-agents: create, configuration and pipeline.
    path("agents/new/", create.AgentCreateView.as_view(), name="agent-create"),
    path("agents/<str:ref>/configuration/", config.AgentConfigView.as_view(), name="agent-config"),
    path("agents/<str:ref>/configuration/raw/", config.AgentConfigRawView.as_view(), name="agent-config-raw"),
    path("agents/<str:ref>/pipeline/", pipeline.AgentPipelineView.as_view(), name="agent-pipeline"),
]

# console-lifecycle: fixed paths under agents/ (import) come before agents/<ref>/.
AGENT = "agents/<str:ref>/"
urlpatterns += [
    path("agents/import/", portability.AgentImportView.as_view(), name="agents-import"),
    path(AGENT + "versions/", versions.VersionListView.as_view(), name="agent-versions"),
    path(AGENT + "versions/diff/", versions.VersionDiffView.as_view(), name="agent-version-diff"),
    path(AGENT + "versions/<int:index>/rollback/", versions.VersionRollbackView.as_view(),
         name="agent-version-rollback"),
    path(AGENT + "schedules/", schedules.ScheduleListView.as_view(), name="agent-schedules"),
    path(AGENT + "schedules/preview/", schedules.SchedulePreviewView.as_view(), name="agent-schedule-preview"),
    path(AGENT + "schedules/<str:schedule>/toggle/", schedules.ScheduleToggleView.as_view(),
         name="agent-schedule-toggle"),
    path(AGENT + "schedules/<str:schedule>/delete/", schedules.ScheduleDeleteView.as_view(),
         name="agent-schedule-delete"),
    path(AGENT + "webhooks/", webhooks.WebhookView.as_view(), name="agent-webhooks"),
    path(AGENT + "webhooks/rotate/", webhooks.WebhookRotateView.as_view(), name="agent-webhook-rotate"),
    path(AGENT + "webhooks/disable/", webhooks.WebhookDisableView.as_view(), name="agent-webhook-disable"),
    path(AGENT + "members/", members.MemberListView.as_view(), name="agent-members"),
    path(AGENT + "members/transfer/", members.TransferView.as_view(), name="agent-transfer"),
    path(AGENT + "members/<uuid:user_id>/role/", members.MemberRoleView.as_view(), name="agent-member-role"),
    path(AGENT + "members/<uuid:user_id>/remove/", members.MemberRemoveView.as_view(), name="agent-member-remove"),
    path(AGENT + "audit/", audit.AuditLogView.as_view(), name="agent-audit"),
    path(AGENT + "export/", portability.AgentExportView.as_view(), name="agent-export"),
    path(AGENT + "memories/", memories.MemoryListView.as_view(), name="agent-memories"),
    path(AGENT + "memories/<str:memory>/delete/", memories.MemoryDeleteView.as_view(), name="agent-memory-delete"),
    path(AGENT + "skills/", skills.AgentSkillsView.as_view(), name="agent-skills"),
    path(AGENT + "skills/<str:skill>/detach/", skills.AgentSkillDetachView.as_view(), name="agent-skill-detach"),
    path(AGENT + "skills/<str:skill>/editable/", skills.AgentSkillEditableView.as_view(),
         name="agent-skill-editable"),
    path("skills/", skills.SkillLibraryView.as_view(), name="skills"),
    path("skills/<str:skill>/", skills.SkillEditView.as_view(), name="skill-edit"),
    path("skills/<str:skill>/delete/", skills.SkillDeleteView.as_view(), name="skill-delete"),
]
