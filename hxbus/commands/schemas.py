"""``hxbus schemas check|docs|list|freeze``: the contract's guard, reference and history.

- ``check``: the house rules of the schema files, every current schema frozen, and every
  version FULL_TRANSITIVE compatible with the newest (exit 1 with one line per problem).
- ``docs``: renders docs/contract.md (or ``--out``; ``-`` for standard output).
- ``list``: every version in the catalog with its fingerprint.
- ``freeze TYPE``: records the current schema of TYPE as its next version in history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hxbus.exit_codes import ExitCode
from runtime import Settings
from schemas import (
    AVRO_DIR,
    CONTRACT_DOC,
    EVENT_TYPES,
    Catalog,
    check_catalog,
    freeze_current,
    render_contract,
    rule_issues,
)
from schemas.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schemas",
        help="check, document, list and freeze the Avro contract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--avro-dir", type=Path, default=AVRO_DIR, help="schema folder (default: the packaged one)"
    )
    actions = parser.add_subparsers(dest="schemas_action", metavar="ACTION", required=True)
    actions.add_parser("check", help="house rules, frozen versions, FULL_TRANSITIVE compatibility")
    docs = actions.add_parser("docs", help="render the contract reference as Markdown")
    # docs/contract.md of the checkout; an installed hxbus has no docs/ beside it: stdout.
    out = str(CONTRACT_DOC) if CONTRACT_DOC.parent.is_dir() else "-"
    docs.add_argument("--out", default=out, help=f"file to write, - for stdout ({out})")
    actions.add_parser("list", help="every version with its fingerprint")
    freeze = actions.add_parser("freeze", help="record the current schema as the next version")
    freeze.add_argument("event_type", choices=EVENT_TYPES)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {"check": _check, "docs": _docs, "list": _list, "freeze": _freeze}
    return handlers[args.schemas_action](args)


def _check(args: argparse.Namespace) -> int:
    problems = rule_issues(args.avro_dir)
    try:
        catalog = Catalog.load(args.avro_dir)
    except ConfigError as exc:
        problems.append(str(exc))
    else:
        problems.extend(str(issue) for issue in check_catalog(catalog))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"schemas check: {len(problems)} problems", file=sys.stderr)
        return ExitCode.INVALID
    versions = sum(len(catalog.versions(t)) for t in catalog.event_types)
    print(
        f"schemas check: ok: {len(catalog.event_types)} event types, {versions} versions, "
        "every older version FULL compatible with the newest"
    )
    return 0


def _docs(args: argparse.Namespace) -> int:
    text = render_contract(Catalog.load(args.avro_dir))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    catalog = Catalog.load(args.avro_dir)
    for version in catalog:
        state = "current" if version is catalog.current(version.event_type) else ""
        frozen = "" if version.frozen else "NOT FROZEN"
        line = f"{version.event_type:20} v{version.version:<3} {version.fingerprint.hex()}"
        print(f"{line} {state} {frozen}".rstrip())
    return 0


def _freeze(args: argparse.Namespace) -> int:
    written = freeze_current(args.event_type, args.avro_dir)
    if written is None:
        print(f"{args.event_type}: the current schema is already frozen; nothing to do")
    else:
        print(f"{args.event_type}: wrote {written}")
    return 0
