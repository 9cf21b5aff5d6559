"""Staff pages of the agents app that moved here from executions."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_old_provider_admin_links_redirect_to_the_agents_app(make_user):
    staff = make_user("root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)

    # when an old bookmark arrives
    response = client.get("/admin/executions/provider/?kind=openai")

    # then it lands on the same page in its new place
    assert response.status_code == 301
    assert response["Location"] == "/admin/agents/provider/?kind=openai"
    assert client.get(response["Location"]).status_code == 200
