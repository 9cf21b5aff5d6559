"""The members tab: who has which role; add by email, change a role, remove
(or leave), transfer ownership.  Only what the viewer's role allows is shown
(``accounts.roles.role_needed_to_manage``); the members services decide, as
for ``agents.api.members`` and ``POST /agents/{agent}/transfer``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import MEMBER_ROLE_CHOICES, MEMBER_ROLES, Role, role_needed_to_manage
from agents import selectors, services
from agents.api.members import chosen_user
from agents.web.actions import perform, submit
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page


def grantable_roles(role: Role) -> list[tuple[str, str]]:
    """The roles ``role`` may give, for the selects (the service checks again)."""
    return [(r.value, r.label) for r in MEMBER_ROLES if role.at_least(role_needed_to_manage(r))]


class MemberAddForm(forms.Form):
    email = forms.EmailField(help_text="The person must already have an account here.")
    # Every member role validates; the select offers only those the viewer may
    # grant, and the service refuses (403) the others, as the API does.
    role = forms.ChoiceField(choices=MEMBER_ROLE_CHOICES, initial=Role.VIEWER.value)

    def __init__(self, *args, grantable, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].widget.choices = grantable


class TransferForm(forms.Form):
    prefix = "transfer"  # its email field sits on the page beside the add form's
    email = forms.EmailField(label="New owner's email",
                             help_text="You stay on as an admin. Only the new owner can hand it back.")


class MemberListView(AgentPageMixin, TemplateView):
    """GET the list; POST adds a member (admins add operators and viewers, the owner adds admins)."""

    template_name = "console/agents/members.html"
    tab = "members"

    def get_context_data(self, add_form=None, transfer_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        grantable = grantable_roles(self.role)
        page = cursor_page(self.request, selectors.member_list(agent=self.agent),
                           sort_fields=("created_at",), default_sort="created_at", max_limit=100)
        me = self.request.user.pk
        rows = [{"member": m, "is_me": m.user_id == me,
                 "manageable": m.role != Role.OWNER and self.role.at_least(role_needed_to_manage(m.role))}
                for m in page.rows]
        context.update(page=page, rows=rows, grantable=grantable,
                       add_form=add_form or MemberAddForm(grantable=grantable),
                       transfer_form=transfer_form or TransferForm())
        return context

    def post(self, request, ref):
        form = MemberAddForm(request.POST, grantable=grantable_roles(self.role))
        if form.is_valid():
            def add():
                user = chosen_user({"email": form.cleaned_data["email"]})
                return services.member_add(agent=self.agent, actor=self.actor(), actor_role=self.role, user=user,
                                           role=form.cleaned_data["role"])
            added, member = submit(form, add)
            if added:
                messages.success(request, f"Added {member.user.email} as {Role(member.role).label.lower()}.")
                return redirect("console:agent-members", self.agent.slug)
        return self.render_to_response(self.get_context_data(add_form=form))


class MemberRoleView(AgentPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, ref, user_id):
        role = request.POST.get("role", "")
        perform(request, lambda: services.member_change_role(
            agent=self.agent, actor=self.actor(), actor_role=self.role, user_id=user_id, role=role),
            success=f"Role changed to {role}.")
        return redirect("console:agent-members", self.agent.slug)


class MemberRemoveView(AgentPageMixin, View):
    """Anyone may remove themselves (leave); removing others is the service's rule."""

    http_method_names = ["post"]
    write_role = Role.VIEWER

    def post(self, request, ref, user_id):
        leaving = user_id == request.user.pk
        done = perform(request, lambda: services.member_remove(
            agent=self.agent, actor=self.actor(), actor_role=self.role, user_id=user_id),
            success="You left the agent." if leaving else "Member removed.")
        if done and leaving:
            return redirect("console:agents")
        return redirect("console:agent-members", self.agent.slug)


class TransferView(MemberListView):
    http_method_names = ["post"]
    write_role = Role.OWNER

    def post(self, request, ref):
        form = TransferForm(request.POST)
        if form.is_valid():
            def transfer():
                new_owner = chosen_user({"email": form.cleaned_data["email"]})
                return services.ownership_transfer(agent=self.agent, actor=self.actor(), actor_role=self.role,
                                                   new_owner=new_owner)
            done, _agent = submit(form, transfer)
            if done:
                messages.success(request, f"{form.cleaned_data['email']} now owns {self.agent.name}; "
                                          "you are an admin.")
                return redirect("console:agent-members", self.agent.slug)
        return self.render_to_response(self.get_context_data(transfer_form=form))
