"""The per-agent role model: ``owner`` > ``admin`` > ``operator`` > ``viewer``."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]

    def at_least(self, other: "Role") -> bool:
        return ROLE_RANK[self] >= ROLE_RANK[Role(other)]


ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3, Role.OWNER: 4}

# Roles that can be granted; ownership only moves by transfer.
MEMBER_ROLES = (Role.ADMIN, Role.OPERATOR, Role.VIEWER)
MEMBER_ROLE_CHOICES = [(r.value, r.label) for r in MEMBER_ROLES]


def role_needed_to_manage(role: Role) -> Role:
    """Who may add, change or remove a member holding ``role`` (API.md §2)."""
    return Role.OWNER if Role(role) in (Role.ADMIN, Role.OWNER) else Role.ADMIN
