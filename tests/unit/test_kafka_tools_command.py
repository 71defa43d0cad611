"""``hxbus kafka <tool>``: the Java client properties and the tool's command line."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from hxbus.broker.tools import TOOLS, client_properties, tool_command
from runtime import Settings

CONFIG = Path("/private/client.properties")


def test_scram_over_tls_properties() -> None:
    """SASL_SSL settings become the Java client's SCRAM login and PEM trust store."""
    settings = Settings(
        bootstrap="127.0.0.1:9094",
        client_id="hxbus-kafka",
        sasl_username="320300000000",
        sasl_password=SecretStr('pa"ss'),
        ssl_cafile=Path("/ca.pem"),
    )
    assert {
        "bootstrap.servers": "127.0.0.1:9094",
        "client.id": "hxbus-kafka",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="320300000000" password="pa\\"ss";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": "/ca.pem",
    } == client_properties(settings)


def test_plaintext_properties() -> None:
    """A plaintext broker needs only the bootstrap servers and the protocol."""
    settings = Settings(bootstrap="127.0.0.1:9092", client_id="hxbus-kafka")
    assert {
        "bootstrap.servers": "127.0.0.1:9092",
        "client.id": "hxbus-kafka",
        "security.protocol": "PLAINTEXT",
    } == client_properties(settings)


def test_command_adds_bootstrap_and_config_before_the_callers_arguments() -> None:
    """consumer-groups gets --bootstrap-server and --command-config, then the arguments."""
    argv = tool_command(
        TOOLS["consumer-groups"], CONFIG, Settings(bootstrap="h:1"), ["--describe", "--all-groups"]
    )
    assert [
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server",
        "h:1",
        "--command-config",
        str(CONFIG),
        "--describe",
        "--all-groups",
    ] == argv[argv.index("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand") :]


def test_explicit_bootstrap_wins_and_perf_test_reads_the_file() -> None:
    """A --bootstrap-server given is not doubled; producer-perf-test takes --producer.config."""
    topics = tool_command(TOOLS["topics"], CONFIG, Settings(), ["--bootstrap-server=x:1", "--list"])
    perf = tool_command(TOOLS["producer-perf-test"], CONFIG, Settings(), ["--topic", "t"])
    assert (1, ["--producer.config", str(CONFIG), "--topic", "t"]) == (
        sum(a.startswith("--bootstrap-server") for a in topics),
        perf[-4:],
    )
