"""Who is acting, from where, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass, field

from kolam.errors import Forbidden

ROLES = ("owner", "manager", "reviewer", "annotator", "viewer")

# What each role may do; routes and CLI commands ask for a permission, never a role name.
PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(
        {
            "org.manage",
            "members.manage",
            "projects.manage",
            "items.import",
            "items.read",
            "tasks.work",
            "reviews.work",
            "exports.read",
            "stats.read",
            "audit.read",
        }
    ),
    "manager": frozenset(
        {
            "members.manage",
            "projects.manage",
            "items.import",
            "items.read",
            "tasks.work",
            "reviews.work",
            "exports.read",
            "stats.read",
            "audit.read",
        }
    ),
    "reviewer": frozenset({"items.read", "tasks.work", "reviews.work", "exports.read", "stats.read"}),
    "annotator": frozenset({"tasks.work"}),
    "viewer": frozenset({"exports.read", "stats.read"}),
}


@dataclass(frozen=True)
class Actor:
    """A member acting inside one organization; every service call carries one."""

    user_id: int
    org_id: int
    role: str
    skills: tuple[str, ...] = ()
    ip: str | None = None
    user_agent: str | None = None
    via: str = "api"
    is_admin: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"your role '{self.role}' does not allow {permission}")
