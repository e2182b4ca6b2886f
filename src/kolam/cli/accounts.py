"""`kolam orgs`, `kolam users`, `kolam tokens`: tenants, people and API tokens, from the server's shell."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.table import Table

from kolam.cli.common import console, friendly, open_db
from kolam.services import accounts, auth

orgs = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
users = typer.Typer(help="People and their roles in an organization.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)

OrgOpt = Annotated[str, typer.Option("--org", "-o", help="Organization slug.")]


@orgs.command("create")
@friendly
def org_create(slug: str, name: Annotated[str, typer.Option(help="Display name.")] = "") -> None:
    """Create an organization."""
    db = open_db()
    with db.write() as s:
        org = accounts.create_organization(s, None, slug=slug, name=name)
    console.print(f"created organization {org.slug} (id {org.id})")


@orgs.command("list")
@friendly
def org_list() -> None:
    """List organizations."""
    db = open_db()
    table = Table("id", "slug", "name", "created")
    with db.read() as s:
        for org in accounts.list_organizations(s):
            table.add_row(str(org.id), org.slug, org.name, org.created_at.strftime("%Y-%m-%d"))
    console.print(table)


@users.command("add")
@friendly
def user_add(
    email: str,
    org: OrgOpt,
    role: Annotated[str, typer.Option(help="owner, manager, reviewer, annotator or viewer.")] = "annotator",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str | None, typer.Option(help="Password; omit to generate one.")] = None,
    skill: Annotated[list[str] | None, typer.Option("--skill", help="A skill, e.g. a language: --skill ta.")] = None,
    admin: Annotated[bool, typer.Option(help="Platform administrator (may create organizations).")] = False,
) -> None:
    """Add a person to an organization (creating their account if new)."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        member = accounts.add_member(
            s,
            None,
            organization.id,
            email=email,
            role=role,
            name=name,
            password=password,
            skills=skill or [],
            is_admin=admin,
        )
    console.print(f"added {email} to {org} as {role} (member {member.id})")
    if generated:
        console.print(f"password: [bold]{password}[/bold]  (shown once)")


@users.command("list")
@friendly
def user_list(org: OrgOpt) -> None:
    """List the members of an organization."""
    db = open_db()
    table = Table("member", "user", "email", "name", "role", "skills")
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        for m, u in accounts.list_members(s, None, organization.id):
            table.add_row(str(m.id), str(u.id), u.email, u.name, m.role, " ".join(m.skills or []))
    console.print(table)


@users.command("set-role")
@friendly
def user_set_role(member_id: int, org: OrgOpt, role: Annotated[str, typer.Option(help="The new role.")]) -> None:
    """Change a member's role."""
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        accounts.update_member(s, None, organization.id, member_id, role=role)
    console.print(f"member {member_id} is now {role}")


@tokens.command("create")
@friendly
def token_create(
    email: str,
    org: OrgOpt,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API token for a member; the secret is printed once."""
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        user = accounts.user_by_email(s, email)
        secret, row = auth.create_token(s, None, organization.id, user_id=user.id, name=name, days=days)
    console.print(f"token {row.id} for {email}: [bold]{secret}[/bold]  (shown once)")


@tokens.command("list")
@friendly
def token_list(org: OrgOpt) -> None:
    """List an organization's tokens (never their secrets)."""
    db = open_db()
    table = Table("id", "user", "name", "prefix", "created", "revoked")
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        for t in auth.list_tokens(s, None, organization.id):
            table.add_row(
                str(t.id),
                str(t.user_id),
                t.name,
                t.prefix + "…",
                t.created_at.strftime("%Y-%m-%d"),
                t.revoked_at.strftime("%Y-%m-%d") if t.revoked_at else "",
            )
    console.print(table)


@tokens.command("revoke")
@friendly
def token_revoke(token_id: int, org: OrgOpt) -> None:
    """Revoke a token; scripts using it are refused from then on."""
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        auth.revoke_token(s, None, organization.id, token_id)
    console.print(f"token {token_id} revoked")
