"""``hxbus bridge run`` and ``hxbus bridge translate``.

``hxbus bridge run --province P --root DIR [--sink directory|http|kafka] [--url URL]
[--kafka-topic T] [--group G] [--until-idle S] [--metrics-port N]
[--no-outbound | --outbound-only] [--workers N]`` runs the bridge of one province
(``bridge.runner``): inbound, and outbound from ``DIR/outbox`` on a thread of its own, until
SIGTERM or SIGINT, which finish the batch (and the outbox scan) in hand, commit and close.
``--until-idle S`` stops it once it held its partitions, the outbox is empty and nothing
came for S seconds. ``--workers N`` (N > 1) runs N worker processes of the group under a
supervisor (``bridge.workers``): worker 1 also publishes the outbox, worker K serves
/metrics on the port + 10 × (K - 1).

``hxbus bridge translate --province P --direction inbound|outbound FILE``:

A province bridge's translation, without Kafka, for an integration engineer checking a
mapping:

- ``inbound``: FILE holds exchange events in the JSON form (one, pretty or not, or
  NDJSON); each is checked against the contract and printed as the province's local
  bytes, one message a line. Standard error says, per message, its local file name and
  which fields were truncated or dropped on the way.
- ``outbound``: FILE is one local file as a local system drops it into its outbox; each
  event in it is checked against the contract and printed in the JSON form.

Problems go to standard error as ``line N: path: rule``. Exit status: 0 when every event
translated, 1 when any did not, 2 when FILE cannot be read at all. ``-`` reads stdin.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import IO, Any

import structlog

from bridge import MAX_WORKERS, Supervisor, worker_metrics_port
from bridge.profiles import Profile, get_profile
from bridge.runner import SinkChoice, run_inbound, run_outbound
from consumers import ConsumerRuntime
from hxbus.commands.metrics_option import metrics_port
from hxbus.commands.role_options import add_role_arguments
from hxbus.exit_codes import ExitCode
from runtime import Settings, for_role, receiver_verifier
from runtime.metrics_server import MetricsServer, start_metrics_server
from schemas import Agreement, load_agreement, read_events, render_event, validate_event
from schemas.errors import (
    ConfigError,
    HxError,
    TranslationError,
    UnreadableInput,
    ValidationFailed,
)

EXIT_TRANSLATED, EXIT_FAILED, EXIT_UNREADABLE = ExitCode.OK, ExitCode.INVALID, ExitCode.UNREADABLE
_LINE_PREFIX = re.compile(r"^line \d+: ")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bridge",
        help="province bridges: translate exchange events to local formats and back",
        description="Province bridges between the exchange and the local systems.",
    )
    commands = parser.add_subparsers(dest="bridge_command", metavar="COMMAND", required=True)
    _register_run(commands)
    _register_translate(commands)


def _register_run(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run a province's bridge: exchange events into the local system and back",
        description="Consume the broadcast topics and the province's inboxes, translate "
        "what is addressed to the province, deliver it through the sink, audit it; "
        "publish the files local systems drop in ROOT/outbox.",
    )
    parser.add_argument("--province", required=True, help="the province's key (JS)")
    parser.add_argument("--root", type=Path, help="local root; files go to ROOT/inbox/")
    parser.add_argument("--sink", default="directory", choices=("directory", "http", "kafka"))
    parser.add_argument("--url", help="the local system's URL (http sink)")
    parser.add_argument(
        "--kafka-topic",
        metavar="TOPIC",
        help="the local topic of the kafka sink (default hx.local.<province>; created if absent)",
    )
    parser.add_argument(
        "--http-timeout",
        type=float,
        metavar="S",
        help="http sink: seconds to wait for the local system's answer (default 30)",
    )
    parser.add_argument(
        "--worker",
        type=int,
        default=1,
        metavar="N",
        help="this process's number among the province's bridge workers; "
        "it names the Kafka client (hxbus-bridge-<province>-N)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help=f"run N worker processes of the group (1 to {MAX_WORKERS}) under a supervisor "
        "that restarts a dead one; worker K serves /metrics on PORT + 10 x (K - 1)",
    )
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument(
        "--no-outbound",
        action="store_true",
        help="inbound only: do not publish ROOT/outbox",
    )
    direction.add_argument(
        "--outbound-only",
        action="store_true",
        help="only publish what local systems drop in ROOT/outbox",
    )
    add_role_arguments(
        parser, group=None, group_help="consumer group (default hx.bridge.<province>)"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    key = agreement.province_key(args.province, "--province")
    settings = for_role(settings, f"bridge-{key}", args.worker)
    if args.http_timeout is not None and args.http_timeout <= 0:
        raise ConfigError(f"--http-timeout: must be more than 0 seconds, not {args.http_timeout:g}")
    outbound_root = None
    if not args.no_outbound:
        if args.root is None:
            raise ConfigError("--root: the outbound side reads ROOT/outbox (or --no-outbound)")
        outbound_root = args.root
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers: must be between 1 and {MAX_WORKERS}, not {args.workers}")
    if args.workers > 1:
        return _supervise(args, settings, agreement.province_key(args.province))
    if args.outbound_only:
        run_outbound(settings, agreement, key, args.root, max_idle=args.until_idle)
        return 0
    port = metrics_port(args, settings)
    servers: list[MetricsServer] = []
    _name_worker_in_logs(args.worker)

    def serve_metrics(runtime: ConsumerRuntime) -> None:
        """/healthz is ready while the bridge is connected and holds partitions."""
        if port:
            server = start_metrics_server(
                port, host=settings.metrics_host, ready=lambda: bool(runtime.assignment)
            )
            print(f"metrics: http://{settings.metrics_host}:{server.port}/metrics", file=sys.stderr)
            servers.append(server)

    try:
        run_inbound(
            settings,
            agreement,
            key,
            SinkChoice(args.sink, args.root, args.url, args.kafka_topic, args.http_timeout),
            group=args.group,
            max_idle=args.until_idle,
            # Secured by default: None only on a plain development broker without keys.
            verifier=receiver_verifier(settings, agreement, role="bridge"),
            on_runtime=serve_metrics,
            outbound_root=outbound_root,
            worker=args.worker,
        )
    finally:
        if servers and args.metrics_linger:
            time.sleep(args.metrics_linger)
        for server in servers:
            server.stop()
    return 0


def _name_worker_in_logs(worker: int) -> None:
    """Every log line of this process names its worker, on every thread (the workers of a
    supervised bridge share one log stream; the rebalance lines come from the Kafka
    client's thread, where context variables bound here are not seen)."""

    def add_worker(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        event.setdefault("worker", worker)
        return event

    structlog.configure(processors=[add_worker, *structlog.get_config()["processors"]])


def _supervise(args: argparse.Namespace, settings: Settings, province: str) -> int:
    """``--workers N``: N ``hxbus bridge run`` processes of one group, supervised."""
    if args.outbound_only:
        raise ConfigError("--workers: the outbox has one publisher; --outbound-only runs alone")
    base = metrics_port(args, settings)
    if base and worker_metrics_port(base, args.workers) > 65535:
        raise ConfigError(f"--metrics-port: {base} leaves no port for worker {args.workers}")

    def argv_for(worker: int) -> list[str]:
        argv = [sys.executable, "-m", "hxbus"]
        if args.log_level:
            argv += ["--log-level", args.log_level]
        argv += ["bridge", "run", "--province", province, "--worker", str(worker)]
        argv += ["--sink", args.sink, "--metrics-port", str(worker_metrics_port(base, worker))]
        for option, value in (
            ("--root", args.root),
            ("--url", args.url),
            ("--kafka-topic", args.kafka_topic),
            ("--http-timeout", args.http_timeout),
            ("--group", args.group),
            ("--until-idle", args.until_idle),
            ("--metrics-linger", args.metrics_linger or None),
        ):
            if value is not None:
                argv += [option, str(value)]
        if args.no_outbound or worker > 1:  # one outbox, one publisher (bridge.workers)
            argv.append("--no-outbound")
        return argv

    return Supervisor(args.workers, argv_for).run()


def _register_translate(commands: Any) -> None:
    parser = commands.add_parser(
        "translate",
        help="translate a file with a province's profile and print the result",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--province",
        required=True,
        help="the province's key in the agreement (JS)",
    )
    parser.add_argument("--direction", required=True, choices=("inbound", "outbound"))
    parser.add_argument("file", metavar="FILE", help="the file to translate, - for stdin")
    parser.set_defaults(handler=_translate)


def _translate(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    province = agreement.province(args.province, "--province")
    profile = get_profile(province.profile, agreement)
    if args.direction == "inbound":
        return _inbound(profile, args.file, agreement)
    return _outbound(profile, args.file, agreement)


def _inbound(profile: Profile, name: str, agreement: Agreement) -> int:
    source: str | IO[bytes] = sys.stdin.buffer if name == "-" else name
    status = EXIT_TRANSLATED
    try:
        for line, outcome in read_events(source, agreement):
            if isinstance(outcome, ValidationFailed):
                status = _report(line, [str(issue) for issue in outcome.issues])
                continue
            try:
                message = profile.to_local(outcome)
            except TranslationError as exc:
                status = _report(line, [str(exc)])
                continue
            except Exception as exc:  # a bug on one event: reported, the file goes on
                status = _report(line, [_unexpected(exc)])
                continue
            content = message.content
            sys.stdout.buffer.write(content if content.endswith(b"\n") else content + b"\n")
            sys.stdout.flush()
            _note(
                f"line {line}: {message.file_name}: truncated: {_listed(message.truncated)}; "
                f"dropped: {_listed(message.dropped)}"
            )
    except UnreadableInput as exc:
        _note(f"hxbus bridge translate: {exc}")
        return EXIT_UNREADABLE
    return status


def _outbound(profile: Profile, name: str, agreement: Agreement) -> int:
    label = "<stdin>" if name == "-" else name
    try:
        content = sys.stdin.buffer.read() if name == "-" else _read(name)
    except OSError as exc:
        _note(f"hxbus bridge translate: {name}: cannot read: {exc.strerror}")
        return EXIT_UNREADABLE
    status = EXIT_TRANSLATED
    line = 1
    try:
        for parsed in profile.from_local(content, label):
            line = parsed.line
            if parsed.error is not None:
                status = _report(parsed.line, [_plain(parsed.error, label)])
            elif parsed.event is not None:
                try:
                    event = validate_event(parsed.event.envelope, parsed.event.record, agreement)
                except ValidationFailed as failed:
                    status = _report(parsed.line, [str(issue) for issue in failed.issues])
                    continue
                except Exception as exc:  # a bug in a rule: this record is refused
                    status = _report(parsed.line, [_unexpected(exc)])
                    continue
                print(json.dumps(render_event(event), ensure_ascii=False, indent=2))
    except HxError as exc:
        status = _report(line, [_plain(exc, label)])
    except BrokenPipeError:
        raise  # the reader went away (| head): not a bug of the profile; main() ends quietly
    except Exception as exc:  # a bug in the profile: the rest of the file is not read
        status = _report(line, [_unexpected(exc)])
    return status


def _unexpected(error: Exception) -> str:
    """An unexpected failure as the rule a reader gets: its class, never its text (values)."""
    return f"hxbus could not translate this input ({type(error).__name__}); please report it"


def _read(name: str) -> bytes:
    with open(name, "rb") as file:
        return file.read()


def _report(line: int, problems: list[str]) -> ExitCode:
    for problem in problems:
        _note(f"line {line}: {problem}")
    return EXIT_FAILED


def _plain(error: HxError, label: str) -> str:
    """The error without the ``<file>:`` and ``line N:`` it starts with (said once here)."""
    text = str(error).removeprefix(f"{label}: ")
    return _LINE_PREFIX.sub("", text, count=1)


def _listed(paths: tuple[str, ...]) -> str:
    return ", ".join(paths) if paths else "nothing"


def _note(text: str) -> None:
    print(text, file=sys.stderr)
