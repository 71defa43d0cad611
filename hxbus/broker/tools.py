"""Kafka's own command-line tools, run from the project's jars with hxbus's settings.

``hxbus kafka consumer-groups --describe --all-groups`` is Kafka's
``kafka-consumer-groups.sh --bootstrap-server <HX_BOOTSTRAP> --command-config <file>``:
the bootstrap servers and the login (SASL/SCRAM, TLS) come from the same ``HX_`` settings
as every hxbus role, written to a client properties file (mode 0600, in a private
temporary directory, removed when the tool exits) in the Java client's form. Arguments
after the tool's name go to it unchanged; an explicit ``--bootstrap-server`` wins.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hxbus.broker.jars import ensure_jars, java_executable, kafka_dir
from runtime import Settings
from runtime.secrets import write_atomically


@dataclass(frozen=True, slots=True)
class KafkaTool:
    """One of Kafka's tools: its main class and the option that takes a properties file."""

    main_class: str
    config_option: str
    summary: str
    #: The option naming the bootstrap servers; None when the file's bootstrap.servers serves.
    bootstrap_option: str | None = "--bootstrap-server"


#: The tools, by the name of Kafka's script without ``kafka-`` and ``.sh``.
TOOLS: dict[str, KafkaTool] = {
    "topics": KafkaTool(
        "org.apache.kafka.tools.TopicCommand", "--command-config", "list, describe, create topics"
    ),
    "consumer-groups": KafkaTool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--command-config",
        "groups, their members (client ids), offsets and lag",
    ),
    "console-consumer": KafkaTool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--consumer.config",
        "print records of a topic",
    ),
    "console-producer": KafkaTool(
        "org.apache.kafka.tools.ConsoleProducer",
        "--producer.config",
        "write lines of stdin as records",
    ),
    "acls": KafkaTool("org.apache.kafka.tools.AclCommand", "--command-config", "list or edit ACLs"),
    "producer-perf-test": KafkaTool(
        "org.apache.kafka.tools.ProducerPerformance",
        "--producer.config",
        "producer throughput and latency",
        bootstrap_option=None,
    ),
    "consumer-perf-test": KafkaTool(
        "org.apache.kafka.tools.ConsumerPerformance",
        "--consumer.config",
        "consumer throughput",
    ),
}


def client_properties(settings: Settings) -> dict[str, str]:
    """The Java client's properties for hxbus's settings: bootstrap, client id, security."""
    props = {"bootstrap.servers": settings.bootstrap, "client.id": settings.client_id}
    protocol = settings.effective_security_protocol
    props["security.protocol"] = protocol
    if protocol.startswith("SASL_"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if settings.sasl_mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        props["sasl.mechanism"] = settings.sasl_mechanism
        props["sasl.jaas.config"] = (
            f'{module} required username="{_jaas(settings.sasl_username or "")}" '
            f'password="{_jaas(password)}";'
        )
    if protocol.endswith("SSL") and settings.ssl_cafile:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(settings.ssl_cafile)
    return props


def _jaas(text: str) -> str:
    """A JAAS quoted-string body: backslash and double quote escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _properties_text(props: dict[str, str]) -> str:
    """java.util.Properties text; backslashes escaped (the format's one trap here)."""
    return "".join(f"{k}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in props.items())


def tool_command(
    tool: KafkaTool, config_file: Path, settings: Settings, args: Sequence[str]
) -> list[str]:
    """The java command line of ``tool`` with the properties file and bootstrap added."""
    argv = [
        java_executable(),
        "-Xmx256m",
        # Warnings and errors to stderr; the tools' output stays alone on stdout.
        f"-Dlog4j2.configurationFile={kafka_dir() / 'tools-log4j2.properties'}",
        "-cp",
        f"{kafka_dir() / 'lib'}/*",
        tool.main_class,
    ]
    if tool.bootstrap_option and not _has_option(args, tool.bootstrap_option):
        argv += [tool.bootstrap_option, settings.bootstrap]
    if not _has_option(args, tool.config_option):
        argv += [tool.config_option, str(config_file)]
    return [*argv, *args]


def _has_option(args: Sequence[str], option: str) -> bool:
    return any(a == option or a.startswith(f"{option}=") for a in args)


def run_tool(name: str, args: Sequence[str], settings: Settings) -> int:
    """Run Kafka's tool ``name`` with ``args``; its exit status. Fetches the jars if needed."""
    tool = TOOLS[name]
    ensure_jars()
    with tempfile.TemporaryDirectory(prefix="hxbus-kafka-") as private:  # mode 0700
        config_file = Path(private) / "client.properties"
        write_atomically(config_file, _properties_text(client_properties(settings)).encode(), 0o600)
        argv = tool_command(tool, config_file, settings, args)
        # stdin, stdout and stderr are the caller's: console tools read and print there.
        return subprocess.run(argv, check=False, env=os.environ.copy()).returncode
