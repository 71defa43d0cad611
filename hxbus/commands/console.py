"""``hxbus console --as AGENCY|auditor [--port 8080]``: the region, live, in a browser.

Serves the exchange console: the ten agencies on a map with the flows between them and
each bridge's health, throughput and latency over the last 15 minutes, the alert
register, the open requests and hit confirmations with their deadlines, and the
dead-letter queues. It shows only what the principal given by ``--as`` may read (one
agency, or the auditor). It reads:

- the roles' ``/metrics`` (``--metrics-url NAME=URL``, repeatable; default: the documented
  ports, as ``hxbus top``; a NAME ``bridge XX`` is province XX's bridge);
- the alert topics and the inboxes' headers, with this host's broker login (``HX_*``);
- the request tracker's state (``HX_STATE_DIR``, ``--tracker-group``);
- the DLQs of ``--dlq-group`` (repeatable; default: every ``hx.dlq.*`` topic).

It binds 127.0.0.1 unless ``--host`` says otherwise. Replaying a dead letter needs an
operator login (``--operator``, default ``operator``; the password is generated on first
start in ``HX_STATE_DIR/secrets/console-<name>.password``) and is audited in
``HX_STATE_DIR/console/replays.jsonl``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from consumers.tracker import DEFAULT_GROUP
from hxbus.console import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ConsoleServer,
    ExchangeConsole,
    OperatorLogins,
    Principal,
    RoleUrl,
    Sources,
    standard_roles,
)
from runtime import Settings
from schemas import Agreement, load_agreement
from schemas.errors import ConfigError

_BRIDGE_NAME = re.compile(r"^bridge ([A-Z]{2})$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="the exchange console: a live web view of the region (127.0.0.1:8080)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--as", dest="principal", required=True, metavar="AGENCY|auditor",
        help="show what this agency (its id), or the auditor, may read",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"({DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind ({DEFAULT_HOST})")
    parser.add_argument(
        "--metrics-url", dest="metrics_urls", action="append", metavar="NAME=URL",
        help="a role's /metrics; repeat (default: the documented ports)",
    )  # fmt: skip
    parser.add_argument(
        "--tracker-group", default=DEFAULT_GROUP, help=f"the tracker's group ({DEFAULT_GROUP})"
    )
    parser.add_argument(
        "--dlq-group", dest="dlq_groups", action="append", metavar="G",
        help="a consumer group whose DLQ to show; repeat (default: every DLQ)",
    )  # fmt: skip
    parser.add_argument(
        "--operator", dest="operators", action="append", metavar="NAME",
        help="an operator who may log in to act; repeat (default: operator)",
    )  # fmt: skip
    parser.set_defaults(handler=_serve)


def roles_of(specs: list[str] | None, agreement: Agreement) -> list[RoleUrl]:
    """``NAME=URL`` options as roles (default: the agreement's metrics ports); ConfigError
    naming the option when malformed."""
    if not specs:
        return standard_roles(agreement)
    roles = []
    for spec in specs:
        name, sep, url = spec.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ConfigError(f"--metrics-url: {spec!r} is not NAME=http://HOST:PORT/metrics")
        bridge = _BRIDGE_NAME.match(name)
        kind = (
            "bridge" if bridge else name if name in ("publisher", "tracker", "lookup") else "other"
        )
        roles.append(RoleUrl(name, kind, url, bridge.group(1) if bridge else None))
    return roles


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    principal = Principal.parse(args.principal, agreement)
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: {args.port} is not a TCP port (1–65535)")
    operators = OperatorLogins(settings.state_dir, tuple(args.operators or ("operator",)))
    console = ExchangeConsole(agreement, principal, operators)
    server = ConsoleServer(console, host=args.host, port=args.port)
    console.attach(
        Sources.build(
            settings,
            agreement,
            principal,
            roles=roles_of(args.metrics_urls, agreement),
            tracker_group=args.tracker_group,
            dlq_groups=args.dlq_groups,
        )
    )
    print(f"console: {server.url} as {principal.name}", flush=True)
    for name, path in operators.password_files.items():
        print(f"console: operator login {name!r}: password in {path}", flush=True)
    try:
        server.run()
    finally:
        console.close()
    return 0
