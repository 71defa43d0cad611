"""``hxbus provision [--dry-run]``: make the broker hold the agreement's topics.

Prints the plan (what it will create or change, and why replication may be lower than the
agreement's), applies it, and reports what changed. Running it again reports no change.
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime import Settings, run_provisioning
from schemas import load_agreement


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
    plan = run_provisioning(settings, agreement, dry_run=args.dry_run)
    for note in plan.notes:
        print(f"note: {note}")
    if not plan.changes_anything:
        print(f"no change: the {plan.topics} topics of the agreement are as it asks")
        return 0
    print(f"plan ({len(plan.actions)} actions):")
    for action in plan.actions:
        print(f"  {action.describe()}")
    if args.dry_run:
        print("dry run: nothing applied")
    else:
        print(f"applied {len(plan.actions)} actions on {settings.bootstrap}")
    return 0
