"""``hxbus kafka <tool> [ARGS...]``: Kafka's own command-line tools against the configured broker.

The tools are Kafka's (from the jars of deploy/kafka, the same version as the broker):
``topics``, ``consumer-groups``, ``console-consumer``, ``console-producer``, ``acls``,
``producer-perf-test``, ``consumer-perf-test``. hxbus adds ``--bootstrap-server`` from
HX_BOOTSTRAP and a client properties file with the login of HX_SASL_USERNAME /
HX_SASL_PASSWORD (and HX_SSL_CAFILE); every other argument goes to the tool as written,
e.g. ``hxbus kafka consumer-groups --describe --all-groups`` shows each role by its
client id (hxbus-bridge-JS-1, hxbus-tracker, ...). The exit status is the tool's.
"""

from __future__ import annotations

import argparse
from typing import Any

from hxbus.broker.tools import TOOLS, run_tool
from runtime import Settings


def register(subparsers: Any) -> None:
    tools = "\n".join(f"  {name:<20} {tool.summary}" for name, tool in TOOLS.items())
    parser = subparsers.add_parser(
        "kafka",
        help="run Kafka's own tools (topics, consumer-groups, ...) with hxbus's settings",
        description=f"{__doc__}\ntools:\n{tools}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("tool", choices=sorted(TOOLS), metavar="TOOL", help="one of the tools")
    parser.add_argument(
        "tool_args", nargs=argparse.REMAINDER, metavar="ARGS", help="passed to the tool"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    return run_tool(args.tool, args.tool_args, settings)
