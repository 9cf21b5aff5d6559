"""Whether an agent's chat turns offer the knowledge tool: only with a document ready to search."""

import pytest

from executions.knowledge.models import Document, DocumentKind, DocumentStatus
from executions.knowledge.selectors import agent_has_ready_documents


def _document(agent, status):
    return Document.objects.create(agent=agent, document_id=f"doc-{status}", filename="a.txt", kind=DocumentKind.TEXT,
                                   file_size=1, sha256="0" * 64, storage_name="x", status=status)


@pytest.mark.django_db
def test_only_a_ready_document_of_the_agent_counts(make_agent, user, django_assert_num_queries):
    agent, other = make_agent(user), make_agent(user)
    _document(agent, DocumentStatus.PROCESSING)
    _document(agent, DocumentStatus.FAILED)
    _document(other, DocumentStatus.READY)
    with django_assert_num_queries(1):
        assert agent_has_ready_documents(agent) is False
    _document(agent, DocumentStatus.READY)
    assert agent_has_ready_documents(agent) is True
