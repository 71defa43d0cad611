"""``hxbus provision [--dry-run]``: make the broker hold the agreement's topics and access.

Prints the plan (what it will create or change, and why replication may be lower than the
agreement's), applies it, and reports what changed. Running it again reports no change.
On a secured broker (run it as ``admin``: ``eval "$(hxbus credentials --admin)"``) it
also writes the SCRAM users and the ACLs the agreement implies and revokes every other
(``runtime.access``): an agency removed from the agreement loses its rights.

A secured broker is refused an agreement in which an agency or a province's bridge has
no public key (every receiver there refuses unsigned messages, and ``hxbus audit`` could
verify nothing): the error lists each with the ``hxbus keys generate`` command that makes
its key. Nothing is provisioned then.
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime import Settings, run_provisioning
from runtime.access import broker_is_secured, run_access_provisioning
from runtime.secrets import secrets_dir
from runtime.signing_keys import keyless
from schemas import Agreement, load_agreement
from schemas.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "provision",
        help="create and align the topics of the agreement (idempotent)",
        description=(
            "Create the topics of the agreement (HX_AGREEMENT) that are missing, add "
            "partitions and align configs where they differ; replication is fitted to the "
            "live brokers. Prints the plan and what changed; a second run changes nothing."
        ),
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.set_defaults(handler=_provision)


def _provision(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    if broker_is_secured(settings):
        missing = keyless(agreement)
        if missing:
            raise ConfigError(
                f"{settings.agreement}: the broker is secured, so every agency and every "
                f"province's bridge signs with a key the agreement lists; {len(missing)} "
                "have none (then hand the edited agreement to every partner):\n  "
                + "\n  ".join(missing)
            )
    plan = run_provisioning(settings, agreement, dry_run=args.dry_run)
    for note in plan.notes:
        print(f"note: {note}")
    if not plan.changes_anything:
        print(f"no change: the {plan.topics} topics of the agreement are as it asks")
    else:
        print(f"plan ({len(plan.actions)} actions):")
        for action in plan.actions:
            print(f"  {action.describe()}")
        if args.dry_run:
            print("dry run: nothing applied")
        else:
            print(f"applied {len(plan.actions)} actions on {settings.bootstrap}")
    _provision_access(args, settings, agreement)
    return 0


def _provision_access(args: argparse.Namespace, settings: Settings, agreement: Agreement) -> None:
    """SCRAM users and ACLs, on a secured broker (run as its super-user)."""
    access = run_access_provisioning(settings, agreement, dry_run=args.dry_run)
    if access is None:
        print("note: the broker has no authorizer (not secured): no users or ACLs to provision")
        return
    if not access.changes_anything:
        print("no change: the users and ACLs of the agreement are as it asks")
        return
    lines = access.lines()
    print(f"access plan ({len(lines)} changes):")
    for line in lines:
        print(f"  {line}")
    if args.dry_run:
        print("dry run: no user or ACL changed")
    else:
        print(f"applied; passwords under {secrets_dir(settings.state_dir)} (hxbus credentials)")
