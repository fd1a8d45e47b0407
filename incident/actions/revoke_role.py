"""contain.revoke_role: ALTER ROLE ... NOLOGIN and REVOKE its table privileges, exactly undone."""

from __future__ import annotations

from typing import Any

from incident.actions.base import Action, ActionError, Context, Outcome, param

# Privileges granted directly to the role on tables outside the system schemas.
_GRANTS = """
SELECT c.oid::regclass::text AS relation, a.privilege_type AS privilege,
       a.is_grantable AS grantable
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
JOIN pg_roles r ON r.oid = a.grantee
WHERE r.rolname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
ORDER BY 1, 2
"""


class RevokeRole(Action):
    type = "contain.revoke_role"
    reversible = True

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        role = param(ctx, params, "role")
        db = await ctx.upstream()
        can_login = await db.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role)
        if can_login is None:
            raise ActionError(f"no database role {role!r}")
        grants = [dict(r) for r in await db.fetch(_GRANTS, role)]
        ident = _ident(role)
        async with db.transaction():
            await db.execute(f"ALTER ROLE {ident} NOLOGIN")
            for g in grants:
                await db.execute(f"REVOKE {g['privilege']} ON {g['relation']} FROM {ident}")
        return Outcome(summary=f"role {role} set NOLOGIN, {len(grants)} privilege(s) revoked",
                       before={"role": role, "login": can_login, "grants": len(grants)},
                       after={"role": role, "login": False, "grants": 0},
                       undo={"role": role, "login": can_login, "grants": grants})

    async def undo(self, ctx: Context, params: dict[str, Any], data: dict[str, Any]) -> Outcome:
        role, ident = data["role"], _ident(data["role"])
        db = await ctx.upstream()
        async with db.transaction():
            if data["login"]:
                await db.execute(f"ALTER ROLE {ident} LOGIN")
            for g in data["grants"]:
                option = " WITH GRANT OPTION" if g["grantable"] else ""
                await db.execute(f"GRANT {g['privilege']} ON {g['relation']} TO {ident}{option}")
        return Outcome(summary=f"role {role} restored: login {data['login']},"
                               f" {len(data['grants'])} privilege(s) granted again",
                       before={"role": role, "login": False, "grants": 0},
                       after={"role": role, "login": data["login"], "grants": len(data["grants"])})


def _ident(name: str) -> str:
    # Always quoted: role names come from playbooks and the command line.
    return '"' + name.replace('"', '""') + '"'
