"""The Java partner kit (deploy/partner-kit/java) against the test broker, both directions.

Built with Maven as a partner would build it, then run as a JVM next to hxbus:

- hxbus → Java: a PersonAlert published and signed by hxbus's Publisher is read by the
  kit's consumer, which verifies the signature with the JDK's Ed25519 against the
  agreement's keys, decodes the value with Avro's ``BinaryMessageDecoder`` (SchemaStore of
  schemas/avro/history) and re-encodes it byte for byte; a tampered copy fails to verify.
- docs/signing.md: the kit's signing gives the test vector's bytes and signature.
- Java → hxbus: a PersonAlert built with Avro's ``BinaryMessageEncoder``, with CloudEvents
  headers and no ``hx_fingerprint``, signed by the kit with the agency's PEM key, is
  delivered by hxbus's Jiangsu bridge (which verifies every signature) into its inbox, and
  nothing goes to the bridge's DLQ.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from e2e_bridge_support import inbox_ids, prepare_groups, start_bridge, stop_when
from raw_kafka import send_raw
from topic_reading import read_records, topic_ends

from consumers import read_dead_letters
from consumers.offsets import start_group_at_end
from producers import Publisher
from runtime import Settings, agreement_signer
from runtime.signing_keys import add_public_key, generate_key, private_key_path, public_key_text
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, Codec, load_agreement, parse_event

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "deploy" / "partner-kit" / "java"
HISTORY = ROOT / "schemas" / "avro" / "history"
FIXTURE = ROOT / "tests" / "fixtures" / "events" / "person_alert_xuzhou.json"
SIGNING_DOC = ROOT / "docs" / "signing.md"
XUZHOU = "320300000000"
PERSON_TOPIC = "hx.alerts.person"


@pytest.fixture(scope="module")
def kit_classpath() -> str:
    """The kit built with Maven (``mvn package``): its jar and its runtime jars."""
    mvn = shutil.which("mvn")
    assert mvn is not None, "Maven is needed to build the Java partner kit (scripts/setup)"
    built = subprocess.run(
        [mvn, "-B", "-q", "-f", str(KIT / "pom.xml"), "package"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert 0 == built.returncode, (built.stdout + built.stderr)[-3000:]
    return f"{KIT / 'target' / 'hxbus-partner-kit.jar'}:{KIT / 'target' / 'lib'}/*"


@pytest.fixture
def signed_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose agreement lists a key for Xuzhou, its private key in the state dir."""
    agreement_path = tmp_path / "agencies.toml"
    shutil.copyfile(DEFAULT_AGREEMENT_PATH, agreement_path)
    key = generate_key(settings.state_dir, XUZHOU)
    add_public_key(agreement_path, XUZHOU, public_key_text(key.public_key()))
    return settings.model_copy(update={"agreement": agreement_path})


def _run_kit(classpath: str, *args: str) -> str:
    """Run the kit's Main; its standard output."""
    java = shutil.which("java")
    assert java is not None
    run = subprocess.run(
        [java, "-cp", classpath, "hxbus.partner.Main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert 0 == run.returncode, (run.stdout + run.stderr)[-3000:]
    return run.stdout


def _kit(classpath: str, *args: str) -> list[dict[str, Any]]:
    """Run the kit's Main; its JSON output lines."""
    output = _run_kit(classpath, *args)
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_java_kit_signs_the_test_vector_of_signing_md(kit_classpath: str, tmp_path: Path) -> None:
    """The kit, given the vector's key and message, prints the document's bytes and headers."""
    doc = SIGNING_DOC.read_text(encoding="utf-8")
    pem = re.search(r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----\n", doc, re.S)
    signed = re.search(r"```signed-bytes\n(.*?)\n```", doc, re.S)
    signature = re.search(r"```signature\n(.*?)\n```", doc, re.S)
    headers = re.findall(r"^\| `((?:ce_|content-)[a-z-]+)` \| `([^`]*)` \|$", doc, re.M)
    assert pem is not None
    assert signed is not None
    assert signature is not None
    assert 7 == len(headers)
    key_file = tmp_path / "vector.pem"
    key_file.write_text(pem.group(0))
    output = _run_kit(
        kit_classpath,
        "sign",
        "--private-key", str(key_file),
        "--topic", "hx.alerts.person",
        "--key", "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "--value-hex", "c30158cb2ffb0e0aa5990204",
        *[arg for name, value in headers for arg in ("--header", f"{name}={value}")],
    )  # fmt: skip
    expected = [
        "signed-bytes: " + "".join(signed.group(1).split()),
        *signature.group(1).splitlines(),
    ]
    assert expected == output.splitlines()


def test_java_kit_verifies_and_decodes_what_hxbus_publishes(
    kit_classpath: str, signed_settings: Settings, unique_name: Callable[..., str]
) -> None:
    """The kit verifies and decodes hxbus's signed alert; a tampered copy does not verify."""
    settings = signed_settings
    agreement = load_agreement(settings.agreement)
    group = unique_name("g-java")
    prepare_groups(settings, agreement, {})
    start_group_at_end(settings, group, [PERSON_TOPIC])
    event = parse_event(json.loads(FIXTURE.read_text(encoding="utf-8")), agreement)
    event = replace(event, envelope=event.envelope.evolve(message_id=str(uuid.uuid4())))
    ends = topic_ends(settings, PERSON_TOPIC)
    signer = agreement_signer(settings, agreement, XUZHOU)
    with Publisher(settings, agreement, signer=signer) as publisher:
        publisher.publish(event)
    [sent] = [
        r
        for r in read_records(settings, ends)
        if dict(r.headers).get("ce_id") == event.envelope.message_id.encode()
    ]
    tampered = sent.value[:-1] + bytes([sent.value[-1] ^ 1])
    send_raw(settings, PERSON_TOPIC, key=sent.key, value=tampered, headers=sent.headers)

    lines = _kit(
        kit_classpath,
        "consume",
        "--bootstrap", settings.bootstrap,
        "--group", group,
        "--topic", PERSON_TOPIC,
        "--schemas", str(HISTORY),
        "--agreement", str(settings.agreement),
        "--max-messages", "2",
        "--idle-seconds", "20",
    )  # fmt: skip
    ours = [line for line in lines if line["id"] == event.envelope.message_id]
    fingerprint = Codec().fingerprint("PersonAlert").hex()
    assert [
        {
            "topic": PERSON_TOPIC,
            "id": event.envelope.message_id,
            "type": "PersonAlert",
            "source": XUZHOU,
            "verified": True,
            "fingerprint": fingerprint,
            "record_id": event.record["alert_id"],
            "reencoded_identical": True,
        },
        {
            "topic": PERSON_TOPIC,
            "id": event.envelope.message_id,
            "type": "PersonAlert",
            "source": XUZHOU,
            "verified": False,
            "error": "bad_signature",
        },
    ] == [{k: v for k, v in line.items() if k != "offset"} for line in ours]


def test_hxbus_bridge_delivers_an_alert_the_java_kit_signed(
    kit_classpath: str,
    signed_settings: Settings,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """A PersonAlert encoded and signed by the kit lands in the Jiangsu inbox, no DLQ entry."""
    settings = signed_settings
    agreement: Agreement = load_agreement(settings.agreement)
    group = unique_name("g")
    prepare_groups(settings, agreement, {"JS": group})
    alert_id = str(uuid.uuid4())
    [published] = _kit(
        kit_classpath,
        "publish-person-alert",
        "--bootstrap", settings.bootstrap,
        "--agency", XUZHOU,
        "--private-key", str(private_key_path(settings.state_dir, XUZHOU)),
        "--schemas", str(HISTORY),
        "--alert-id", alert_id,
    )  # fmt: skip
    root = tmp_path / "jiangsu"
    bridge = start_bridge(settings, "JS", root, group, "--no-outbound")
    stop_when(lambda: published["id"] in inbox_ids(root), [bridge], within_s=60)

    dead = read_dead_letters(settings, group)
    assert ({published["id"]}, [], alert_id) == (
        inbox_ids(root),
        [(e.reason, e.message) for e in dead],
        published["alert_id"],
    )
