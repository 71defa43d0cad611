"""Who may do what on a secured broker: SCRAM users and ACLs, from the agreement.

The agreement is the whole truth: ``plan_access`` compares the ACLs and SCRAM users the
broker holds with those the agreement implies, and the plan creates what is missing and
revokes every other ACL and user (``admin``, the super-user, excepted). So an agency
removed from the agreement loses its rights, and its login, on the next run, and an ACL
added by hand does not outlive it. Like topic provisioning: read, plan (pure), apply.

Principals (SCRAM user names) and what they get (``desired_grants``):

- each agency ``<agency id>``: READ the broadcast topics (prefix ``hx.alerts.``) and its
  own inbox; WRITE the two broadcast topics, its partners' inboxes and its own (a DLQ
  replay puts a message back where its consumer read it; the sender's copy of each hit
  and request it sends: design.md, Authority); its own consumer
  groups (prefix ``<agency id>.``), their DLQs (prefix ``hx.dlq.<agency id>.``) and
  transactional ids (prefix ``<agency id>.``). Never another agency's inbox.
- each province's bridge ``bridge-<province key>``: READ the broadcast topics and the
  inboxes of the province's agencies (nothing else directed); WRITE the broadcast topics
  and every inbox (its outbox publishes for the province's agencies: their signatures say
  who speaks); its groups (``hx.bridge.<key>``, as ``bridge.runner`` names them) and their
  DLQs; WRITE the audit topic; its transactional ids (prefix ``bridge-<key>.``).
- need to know (docs/security.md): each agency WRITE its own inbox (the issuer's own copy
  of a need-to-know alert, its record of what it issued), WRITE ``hx.lookup.requests`` (questions to
  the operator's lookup service) and READ its own ``hx.lookup.replies.<agency id>``;
  nobody but the operator reads the questions, writes the answers or touches
  ``hx.lookup.index``. Restricted alerts travel in the inboxes, so the READ on the
  broadcast prefix ``hx.alerts.`` (alert topics and register) shows nothing restricted.
- each auditor (``Agreement`` has none listed: ``DEFAULT_AUDITORS``): READ the audit topic
  and its groups (prefix ``<name>.``). Nobody else reads the audit.

Every READ or WRITE comes with DESCRIBE (clients look topics up first). Services of the
operator (tracker, alert register, provisioning) run as ``admin``.

Passwords are generated per principal on first provisioning and kept in
``<state>/secrets/scram-<principal>.password`` (0600); a user is (re)written on the
broker when it is missing there or its password file was just made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runtime.kafka import SCRAM_MECHANISM, AclBinding, Admin, open_admin
from runtime.secrets import ensure_secret, password_file
from runtime.settings import Settings
from schemas import AUDIT_TOPIC, BROADCAST_TOPICS, Agreement, bridge_principal, inbox_topic
from schemas.lookup import LOOKUP_REQUESTS, lookup_replies_topic

#: The super-user of a secured broker (``hxbus broker start --secure``): never revoked.
SUPER_USER = "admin"
#: Principals that read the audit topic, while the agreement lists none of its own.
DEFAULT_AUDITORS: tuple[str, ...] = ("auditor",)
MECHANISM = SCRAM_MECHANISM
ALERTS_PREFIX = "hx.alerts."
DLQ_PREFIX = "hx.dlq."


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One ALLOW binding: principal (user name), operation, resource type, pattern, name."""

    user: str
    resource: str  # TOPIC, GROUP, TRANSACTIONAL_ID
    pattern: str  # LITERAL, PREFIXED
    name: str
    operation: str  # READ, WRITE, DESCRIBE, CREATE

    def describe(self) -> str:
        prefix = "prefix " if self.pattern == "PREFIXED" else ""
        return f"User:{self.user} {self.operation} {self.resource.lower()} {prefix}{self.name}"

    def to_acl(self) -> AclBinding:
        return AclBinding(
            principal=f"User:{self.user}",
            host="*",
            operation=self.operation,
            permission="ALLOW",
            resource_type=self.resource,
            resource_name=self.name,
            pattern_type=self.pattern,
        )


def _grants(user: str, resource: str, pattern: str, name: str, *ops: str) -> list[Grant]:
    return [Grant(user, resource, pattern, name, op) for op in ops]


def bridge_user(province_key: str) -> str:
    return bridge_principal(province_key)


def desired_users(agreement: Agreement) -> list[str]:
    """Every SCRAM user the agreement implies: agencies, bridges, auditors."""
    return [
        *(a.id for a in agreement.agencies),
        *(bridge_user(key) for key in agreement.provinces),
        *DEFAULT_AUDITORS,
    ]


def desired_grants(agreement: Agreement) -> set[Grant]:
    """The ACLs the agreement implies (see the module docstring)."""
    broadcast = list(BROADCAST_TOPICS.values())
    wanted: list[Grant] = []
    for agency in agreement.agencies:
        me = agency.id
        wanted += _grants(me, "TOPIC", "PREFIXED", ALERTS_PREFIX, "READ", "DESCRIBE")
        # WRITE on its own inbox too: ``hxbus dlq replay`` of its own consumer puts an
        # entry back where it was read (the original signature, by its sender, still holds),
        # and the Publisher files the sender's copy of each hit and request there.
        wanted += _grants(me, "TOPIC", "LITERAL", inbox_topic(me), "READ", "WRITE", "DESCRIBE")
        for topic in broadcast:
            wanted += _grants(me, "TOPIC", "LITERAL", topic, "WRITE", "DESCRIBE")
        for partner in agreement.agencies:
            if partner.id != me:
                wanted += _grants(
                    me, "TOPIC", "LITERAL", inbox_topic(partner.id), "WRITE", "DESCRIBE"
                )
        wanted += _grants(me, "GROUP", "PREFIXED", f"{me}.", "READ", "DESCRIBE")
        dlq = f"{DLQ_PREFIX}{me}."
        wanted += _grants(me, "TOPIC", "PREFIXED", dlq, "CREATE", "WRITE", "READ", "DESCRIBE")
        wanted += _grants(me, "TRANSACTIONAL_ID", "PREFIXED", f"{me}.", "WRITE", "DESCRIBE")
        wanted += _need_to_know_grants(me)
    for key in agreement.provinces:
        bridge, group = bridge_user(key), f"hx.bridge.{key.lower()}"
        wanted += _grants(bridge, "TOPIC", "PREFIXED", ALERTS_PREFIX, "READ", "DESCRIBE")
        for agency in agreement.agencies_of(key):
            wanted += _grants(
                bridge, "TOPIC", "LITERAL", inbox_topic(agency.id), "READ", "DESCRIBE"
            )
        for topic in broadcast:
            wanted += _grants(bridge, "TOPIC", "LITERAL", topic, "WRITE", "DESCRIBE")
        for agency in agreement.agencies:
            wanted += _grants(
                bridge, "TOPIC", "LITERAL", inbox_topic(agency.id), "WRITE", "DESCRIBE"
            )
        wanted += _grants(bridge, "GROUP", "PREFIXED", group, "READ", "DESCRIBE")
        dlq = f"{DLQ_PREFIX}{group}"
        wanted += _grants(bridge, "TOPIC", "PREFIXED", dlq, "CREATE", "WRITE", "READ", "DESCRIBE")
        wanted += _grants(bridge, "TOPIC", "LITERAL", AUDIT_TOPIC, "WRITE", "DESCRIBE")
        wanted += _grants(bridge, "TRANSACTIONAL_ID", "PREFIXED", f"{bridge}.", "WRITE", "DESCRIBE")
    for auditor in DEFAULT_AUDITORS:
        wanted += _grants(auditor, "TOPIC", "LITERAL", AUDIT_TOPIC, "READ", "DESCRIBE")
        wanted += _grants(auditor, "GROUP", "PREFIXED", f"{auditor}.", "READ", "DESCRIBE")
    return set(wanted)


def _need_to_know_grants(agency: str) -> list[Grant]:
    """Write its own copy of a need-to-know alert into its own inbox; ask the lookup
    service and read its own answers (see the module docstring)."""
    return [
        *_grants(agency, "TOPIC", "LITERAL", inbox_topic(agency), "WRITE", "DESCRIBE"),
        *_grants(agency, "TOPIC", "LITERAL", LOOKUP_REQUESTS, "WRITE", "DESCRIBE"),
        *_grants(agency, "TOPIC", "LITERAL", lookup_replies_topic(agency), "READ", "DESCRIBE"),
    ]


# --- what the broker has, and the plan ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessState:
    """The ALLOW bindings of ``User:`` principals, and the SCRAM users, on the broker."""

    grants: frozenset[Grant]
    users: frozenset[str]
    #: Bindings hxbus does not write (DENY, other hosts, other principal types): revoked.
    foreign: tuple[AclBinding, ...] = ()


@dataclass(slots=True)
class AccessPlan:
    """Users to write or delete, ACLs to create or revoke; empty when all is as agreed."""

    users_to_write: list[str] = field(default_factory=list)
    users_to_delete: list[str] = field(default_factory=list)
    grants_to_create: list[Grant] = field(default_factory=list)
    grants_to_revoke: list[Grant] = field(default_factory=list)
    foreign_to_revoke: list[AclBinding] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return any(
            (
                self.users_to_write,
                self.users_to_delete,
                self.grants_to_create,
                self.grants_to_revoke,
                self.foreign_to_revoke,
            )
        )

    def lines(self) -> list[str]:
        """The plan, one action a line (never a password)."""
        out = [f"write SCRAM-SHA-512 credential of {user}" for user in self.users_to_write]
        out += [f"delete SCRAM credentials of {user}" for user in self.users_to_delete]
        out += [f"grant {g.describe()}" for g in self.grants_to_create]
        out += [f"revoke {g.describe()}" for g in self.grants_to_revoke]
        out += [f"revoke {acl}" for acl in self.foreign_to_revoke]
        return out


def plan_access(agreement: Agreement, state: AccessState, state_dir: Path) -> AccessPlan:
    """What to change so the broker holds exactly the agreement's users and ACLs."""
    users = desired_users(agreement)
    grants = desired_grants(agreement)
    return AccessPlan(
        users_to_write=[
            u for u in users if u not in state.users or not password_file(state_dir, u).exists()
        ],
        users_to_delete=sorted(state.users - set(users) - {SUPER_USER}),
        grants_to_create=sorted(grants - state.grants),
        grants_to_revoke=sorted(g for g in state.grants - grants if g.user != SUPER_USER),
        foreign_to_revoke=list(state.foreign),
    )


def read_access_state(admin: Admin) -> AccessState | None:
    """The broker's ACLs and SCRAM users; None when it has no authorizer (not secured)."""
    acls = admin.describe_acls()
    if acls is None:
        return None
    grants, foreign = set(), []
    for acl in acls:
        grant = _grant_of(acl)
        if grant is None:
            foreign.append(acl)
        else:
            grants.add(grant)
    users = admin.scram_users(MECHANISM)
    return AccessState(frozenset(grants), frozenset(users), tuple(foreign))


def _grant_of(acl: AclBinding) -> Grant | None:
    if (
        not acl.principal.startswith("User:")
        or acl.host != "*"
        or acl.permission != "ALLOW"
        or acl.pattern_type not in ("LITERAL", "PREFIXED")
    ):
        return None
    return Grant(
        acl.principal.removeprefix("User:"),
        acl.resource_type,
        acl.pattern_type,
        acl.resource_name,
        acl.operation,
    )


def apply_access(admin: Admin, plan: AccessPlan, state_dir: Path) -> None:
    """Run the plan: users first (a grant to a missing user would be useless), then ACLs."""
    upserts = {u: ensure_secret(password_file(state_dir, u)) for u in plan.users_to_write}
    if upserts or plan.users_to_delete:
        admin.alter_scram_users(MECHANISM, upserts, plan.users_to_delete)
    if plan.grants_to_create:
        admin.create_acls([g.to_acl() for g in plan.grants_to_create])
    revoke = [g.to_acl() for g in plan.grants_to_revoke] + list(plan.foreign_to_revoke)
    if revoke:
        admin.delete_acls(revoke)


def broker_is_secured(settings: Settings) -> bool:
    """Whether the broker logs clients in (this client does) or has an authorizer."""
    if settings.effective_security_protocol.startswith("SASL_"):
        return True
    admin = open_admin(settings)
    try:
        return read_access_state(admin) is not None
    finally:
        admin.close()


def run_access_provisioning(
    settings: Settings, agreement: Agreement, *, dry_run: bool = False
) -> AccessPlan | None:
    """Read, plan and (unless ``dry_run``) apply; None when the broker is not secured."""
    admin = open_admin(settings)
    try:
        state = read_access_state(admin)
        if state is None:
            return None
        plan = plan_access(agreement, state, settings.state_dir)
        if not dry_run:
            apply_access(admin, plan, settings.state_dir)
        return plan
    finally:
        admin.close()
