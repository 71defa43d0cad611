"""Ed25519 signatures: what verifies, what is refused and why, key rotation, key files."""

from __future__ import annotations

import base64
import stat
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from hxbus.cli import main
from producers import MessageBuilder, OutgoingMessage, SyntheticTraffic
from runtime import (
    REPLAY_HEADERS,
    Ed25519Signer,
    Settings,
    Verifier,
    agreement_signer,
    agreement_signers,
    agreement_verifier,
    bridge_signer,
    bridge_verifier,
    load_signer,
    receiver_verifier,
)
from runtime.signing import signed_bytes
from runtime.signing_keys import (
    generate_key,
    key_id,
    keyed_copy,
    keyless,
    public_key_text,
    read_private_key,
)
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, ExchangeEvent, load_agreement
from schemas.errors import ConfigError, SecurityError

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
XUZHOU, JINING, HUAIBEI = "320300000000", "370800000000", "340600000000"
ROLE = "test-signing"


@dataclass(frozen=True)
class Received:
    """What a consumer hands the verifier (the fields of ``SignedMessage``)."""

    topic: str
    key: bytes | None
    value: bytes
    header_list: list[tuple[str, bytes]]

    @property
    def source(self) -> str:
        return dict(self.header_list)["ce_source"].decode()


def received(message: OutgoingMessage) -> Received:
    return Received(message.topic, message.key, message.value, list(message.headers))


def with_keys(agreement: Agreement, keys: dict[str, list[Ed25519PrivateKey]]) -> Agreement:
    """The agreement with these agencies' public keys (others keep none)."""
    raw = agreement.model_dump()
    for agency in raw["agencies"]:
        agency["public_keys"] = [
            public_key_text(k.public_key()) for k in keys.get(agency["id"], [])
        ]
    return Agreement.model_validate(raw)


@pytest.fixture(scope="module")
def keys() -> dict[str, Ed25519PrivateKey]:
    return {agency: Ed25519PrivateKey.generate() for agency in (XUZHOU, JINING, HUAIBEI)}


@pytest.fixture(scope="module")
def signed_agreement(agreement: Agreement, keys: dict[str, Ed25519PrivateKey]) -> Agreement:
    return with_keys(agreement, {agency: [key] for agency, key in keys.items()})


@pytest.fixture(scope="module")
def verifier(signed_agreement: Agreement) -> Verifier:
    made = agreement_verifier(signed_agreement, role=ROLE)
    assert made is not None
    return made


def first_of(agreement: Agreement, event_type: str, source: str) -> ExchangeEvent:
    for event in SyntheticTraffic(agreement, seed=3, start=START).take(2000):
        if event.event_type == event_type and event.envelope.source == source:
            return event
    raise AssertionError(f"no {event_type} from {source} in the synthetic traffic")


def signed(
    agreement: Agreement, key: Ed25519PrivateKey, event_type: str, source: str
) -> OutgoingMessage:
    builder = MessageBuilder(agreement, signer=Ed25519Signer(source, key))
    _, messages = builder.build(first_of(agreement, event_type, source))
    return messages[0]


def refusal(verifier: Verifier, message: Received) -> str:
    with pytest.raises(SecurityError) as caught:
        verifier.verify(message)
    assert "signature" == caught.value.reason
    return str(caught.value)


def set_header(message: Received, name: str, value: bytes) -> Received:
    headers = [(k, value if k == name else v) for k, v in message.header_list]
    if name not in dict(headers):
        headers.append((name, value))
    return replace(message, header_list=headers)


def failures(reason: str) -> float:
    labels = {"role": ROLE, "reason": reason}
    return REGISTRY.get_sample_value("hx_signature_failures_total", labels) or 0.0


def test_signed_message_verifies(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """A message signed with its source's key passes, signature headers appended last."""
    message = signed(signed_agreement, keys[XUZHOU], "PersonAlert", XUZHOU)
    verifier.verify(received(message))
    assert ["hx_signature", "hx_key_id"] == [name for name, _ in message.headers[-2:]]


def test_tampered_payload_byte_is_refused(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """One flipped byte of the value: refused, the reason says the signature does not match."""
    message = received(signed(signed_agreement, keys[XUZHOU], "PersonAlert", XUZHOU))
    value = bytearray(message.value)
    value[-1] ^= 0x01
    before = failures("bad_signature")
    text = refusal(verifier, replace(message, value=bytes(value)))
    assert "hx_signature: does not match topic, key, value and headers" in text
    assert before + 1 == failures("bad_signature")


@pytest.mark.parametrize(
    ("header", "new_value"),
    [
        ("ce_id", b"8a6f3a57-8f5b-4d4e-9f3a-1c2b3d4e5f60"),
        ("ce_type", b"VehicleAlert"),
        ("ce_time", b"2026-11-20T02:00:01.000Z"),
        ("ce_hxtarget", b"370800000000"),
        ("ce_correlationid", b"another"),
    ],
)
def test_altered_identity_or_routing_header_is_refused(
    signed_agreement: Agreement,
    keys: dict[str, Ed25519PrivateKey],
    verifier: Verifier,
    header: str,
    new_value: bytes,
) -> None:
    """Changing (or adding) id, type, time, target or any other signed header breaks it."""
    message = received(signed(signed_agreement, keys[HUAIBEI], "AlertHit", HUAIBEI))
    text = refusal(verifier, set_header(message, header, new_value))
    assert "does not match" in text


def test_altered_source_is_refused_as_wrong_signer(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """ce_source changed to B on a message signed by A: the signer is not the claimed source."""
    message = received(signed(signed_agreement, keys[XUZHOU], "PersonAlert", XUZHOU))
    text = refusal(verifier, set_header(message, "ce_source", JINING.encode()))
    assert f"signed with a key of {XUZHOU}, but ce_source claims {JINING}" in text


def test_rerouted_to_another_topic_is_refused(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """The same bytes on another topic (another agency's inbox) do not verify."""
    message = received(signed(signed_agreement, keys[HUAIBEI], "AlertHit", HUAIBEI))
    assert "does not match" in refusal(verifier, replace(message, topic=f"hx.inbox.{XUZHOU}"))


def test_claiming_another_source_with_own_key_is_refused(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """A signs with its own key a message that claims source B: wrong source."""
    honest = signed(signed_agreement, keys[JINING], "VehicleAlert", JINING)
    unsigned = [(k, v) for k, v in honest.headers if k not in ("hx_signature", "hx_key_id")]
    forged_headers = [(k, XUZHOU.encode() if k == "ce_source" else v) for k, v in unsigned]
    kid = key_id(keys[JINING].public_key())
    # Ed25519Signer refuses to sign for another source, so forge by hand what A would send.
    signature = keys[JINING].sign(
        signed_bytes(honest.topic, honest.key, honest.value, forged_headers, kid)
    )
    forged = Received(
        honest.topic,
        honest.key,
        honest.value,
        [
            *forged_headers,
            ("hx_signature", base64.b64encode(signature)),
            ("hx_key_id", kid.encode()),
        ],
    )
    before = failures("wrong_source")
    text = refusal(verifier, forged)
    assert f"signed with a key of {JINING}, but ce_source claims {XUZHOU}" in text
    assert before + 1 == failures("wrong_source")


def test_wrong_agencys_key_under_the_right_key_id_is_refused(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """A signs with its key but names B's key id: the signature does not verify under B's key."""
    message = received(signed(signed_agreement, keys[JINING], "VehicleAlert", JINING))
    b_kid = key_id(keys[XUZHOU].public_key()).encode()
    claims_b = set_header(set_header(message, "ce_source", XUZHOU.encode()), "hx_key_id", b_kid)
    assert "does not match" in refusal(verifier, claims_b)


def test_signer_refuses_to_sign_for_another_source(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey]
) -> None:
    """An agency's signer does not sign a message whose ce_source is another agency."""
    signer = Ed25519Signer(JINING, keys[JINING])
    with pytest.raises(SecurityError, match=f"ce_source: is {XUZHOU}, but this signer"):
        signer.sign("hx.alerts.person", b"k", b"v", [("ce_source", XUZHOU.encode())])


def test_unsigned_message_is_refused(signed_agreement: Agreement, verifier: Verifier) -> None:
    """No hx_signature: refused as unsigned."""
    builder = MessageBuilder(signed_agreement)
    _, messages = builder.build(first_of(signed_agreement, "PersonAlert", XUZHOU))
    before = failures("unsigned")
    text = refusal(verifier, received(messages[0]))
    assert "hx_signature: absent; every message must be signed" in text
    assert before + 1 == failures("unsigned")


def test_unknown_key_id_is_refused(signed_agreement: Agreement, verifier: Verifier) -> None:
    """A key the agreement does not list: refused, naming the key id."""
    stranger = Ed25519PrivateKey.generate()
    message = received(signed(signed_agreement, stranger, "PersonAlert", XUZHOU))
    text = refusal(verifier, message)
    assert f"hx_key_id: '{key_id(stranger.public_key())}' is no key of the agreement" in text


def test_replay_headers_do_not_break_the_signature(
    signed_agreement: Agreement, keys: dict[str, Ed25519PrivateKey], verifier: Verifier
) -> None:
    """A DLQ replay appends hx_replay_of / hx_replay_count; the message still verifies."""
    message = received(signed(signed_agreement, keys[XUZHOU], "PersonAlert", XUZHOU))
    replayed = message
    for name in sorted(REPLAY_HEADERS):
        replayed = set_header(replayed, name, b"1")
    verifier.verify(replayed)


def test_rotation_two_keys_both_verify_and_the_retired_one_stops(agreement: Agreement) -> None:
    """During a changeover old and new keys verify; once the old one leaves, it is refused."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    during = with_keys(agreement, {XUZHOU: [old, new]})
    after = with_keys(agreement, {XUZHOU: [new]})
    by_old = received(signed(during, old, "PersonAlert", XUZHOU))
    by_new = received(signed(during, new, "PersonAlert", XUZHOU))
    verify_during = agreement_verifier(during)
    verify_after = agreement_verifier(after)
    assert verify_during is not None
    assert verify_after is not None
    verify_during.verify(by_old)
    verify_during.verify(by_new)
    verify_after.verify(by_new)
    assert "is no key of the agreement" in refusal(verify_after, by_old)


def test_no_public_keys_is_development_mode(agreement: Agreement, tmp_path: Path) -> None:
    """No key in the agreement: no verifier; no key file: no signer."""
    bare = with_keys(agreement, {})
    assert (None, None) == (
        agreement_verifier(bare),
        load_signer(Settings(state_dir=tmp_path), XUZHOU),
    )


def test_same_public_key_for_two_agencies_is_a_config_error(agreement: Agreement) -> None:
    """One key listed by two agencies would let one speak as the other: refused at load."""
    shared = Ed25519PrivateKey.generate()
    with pytest.raises(ConfigError, match=f"agency {JINING}: public_keys\\[0\\] is listed by"):
        agreement_verifier(with_keys(agreement, {XUZHOU: [shared], JINING: [shared]}))


# -- hxbus keys generate ---------------------------------------------------------------------


@pytest.fixture
def agreement_file(tmp_path: Path) -> Path:
    copy = tmp_path / "agencies.toml"
    copy.write_text(DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def keys_generate(
    monkeypatch: pytest.MonkeyPatch, state: Path, agreement_file: Path, *extra: str
) -> int:
    monkeypatch.setenv("HX_STATE_DIR", str(state))
    monkeypatch.setenv("HX_AGREEMENT", str(agreement_file))
    return main(
        ["keys", "generate", "--agency", XUZHOU, "--agreement", str(agreement_file), *extra]
    )


def test_keys_generate_writes_private_0600_and_public_into_agreement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, agreement_file: Path
) -> None:
    """The private key is 0600 under the state dir; the agreement lists its public key;
    a message signed by load_signer verifies with agreement_verifier."""
    state = tmp_path / "state"
    assert 0 == keys_generate(monkeypatch, state, agreement_file)
    key_file = state / "keys" / f"{XUZHOU}.ed25519.pem"
    public = public_key_text(read_private_key(key_file).public_key())
    edited = load_agreement(agreement_file)
    assert (0o600, 0o700, (public,)) == (
        stat.S_IMODE(key_file.stat().st_mode),
        stat.S_IMODE(key_file.parent.stat().st_mode),
        edited.agency(XUZHOU).public_keys,
    )
    settings = Settings(state_dir=state, agreement=agreement_file)
    signer = agreement_signer(settings, edited, XUZHOU)
    verifier = agreement_verifier(edited)
    assert signer is not None
    assert verifier is not None
    _, messages = MessageBuilder(edited, signer=signer).build(
        first_of(edited, "PersonAlert", XUZHOU)
    )
    verifier.verify(received(messages[0]))


def test_keys_generate_rotation_keeps_two_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, agreement_file: Path
) -> None:
    """Without --rotate an existing key stays; with it the agreement lists old + new, then
    new + newer (the oldest leaves)."""
    state = tmp_path / "state"
    assert 0 == keys_generate(monkeypatch, state, agreement_file)
    first = load_agreement(agreement_file).agency(XUZHOU).public_keys
    assert 2 == keys_generate(monkeypatch, state, agreement_file)
    assert 0 == keys_generate(monkeypatch, state, agreement_file, "--rotate")
    second = load_agreement(agreement_file).agency(XUZHOU).public_keys
    assert 0 == keys_generate(monkeypatch, state, agreement_file, "--rotate")
    third = load_agreement(agreement_file).agency(XUZHOU).public_keys
    assert (1, 2, first[0], 2, second[1]) == (
        len(first),
        len(second),
        second[0],
        len(third),
        third[0],
    )
    retired = sorted(p.name for p in (state / "keys").glob("*.retired.pem"))
    assert 2 == len(retired)


def test_private_key_readable_by_others_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, agreement_file: Path
) -> None:
    """A key file with mode 644 is not used: it may have leaked."""
    state = tmp_path / "state"
    assert 0 == keys_generate(monkeypatch, state, agreement_file)
    key_file = state / "keys" / f"{XUZHOU}.ed25519.pem"
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="mode 644 lets others read a private key"):
        load_signer(Settings(state_dir=state), XUZHOU)


def test_publisher_without_private_key_but_listed_keys_is_refused(
    signed_agreement: Agreement, tmp_path: Path
) -> None:
    """The agreement expects XUZHOU's signatures, this host has no key: refused before sending."""
    with pytest.raises(ConfigError, match="receivers dead-letter unsigned messages"):
        agreement_signer(Settings(state_dir=tmp_path), signed_agreement, XUZHOU)


def test_simulate_signers_sign_each_message_with_its_sources_key(
    agreement: Agreement, tmp_path: Path
) -> None:
    """With every agency's key here, each synthetic event is signed by its own source."""
    settings = Settings(state_dir=tmp_path)
    keys = {a.id: [generate_key(tmp_path, a.id)] for a in agreement.agencies}
    keyed = with_keys(agreement, keys)
    signer = agreement_signers(settings, keyed)
    verifier = agreement_verifier(keyed)
    assert signer is not None
    assert verifier is not None
    builder = MessageBuilder(keyed, signer=signer)
    sources = set()
    for event in SyntheticTraffic(keyed, seed=4, start=START).take(40):
        _, messages = builder.build(event)
        for message in messages:
            verifier.verify(received(message))
        sources.add(event.envelope.source)
    assert len(sources) > 3


def unsigned_message(agreement: Agreement) -> Received:
    _, messages = MessageBuilder(agreement).build(first_of(agreement, "PersonAlert", XUZHOU))
    return received(messages[0])


def test_on_a_secured_broker_a_keyless_agreement_still_refuses_unsigned_messages(
    agreement: Agreement,
) -> None:
    """A receiver logged in by SASL verifies even without keys: unsigned is refused."""
    secured = Settings(bootstrap="127.0.0.1:1", sasl_username="bridge-js")
    with capture_logs() as logs:
        verifier = receiver_verifier(secured, agreement, role=ROLE)
    assert verifier is not None
    text = refusal(verifier, unsigned_message(agreement))
    assert (True, ["signatures_required_but_no_keys"]) == (
        "hx_signature: absent; every message must be signed" in text,
        [entry["event"] for entry in logs],
    )


def test_on_a_plain_broker_without_keys_a_receiver_warns_it_verifies_nothing(
    agreement: Agreement,
) -> None:
    """Development: no verifier, and one warning line saying so at start."""
    plain = Settings(bootstrap="127.0.0.1:1", sasl_username=None)
    with capture_logs() as logs:
        verifier = receiver_verifier(plain, agreement, role=ROLE)
    assert (None, [("running_without_verification", "warning")]) == (
        verifier,
        [(entry["event"], entry["log_level"]) for entry in logs],
    )


def test_bridge_signer_and_verifier_check_the_province_keys(
    agreement: Agreement, tmp_path: Path
) -> None:
    """The bridge's key signs as ``bridge-js``; the bridge verifier knows it by province."""
    key = generate_key(tmp_path, "bridge-js")
    raw = agreement.model_dump()
    raw["provinces"]["JS"]["public_keys"] = [public_key_text(key.public_key())]
    keyed = Agreement.model_validate(raw)
    settings = Settings(state_dir=tmp_path)
    signer = bridge_signer(settings, keyed, "JS")
    verifier = bridge_verifier(keyed)
    assert signer is not None
    assert verifier is not None
    headers = [("ce_source", b"bridge-js")]
    headers += signer.sign("hx.audit", b"k", b"v", headers)
    verifier.verify(Received("hx.audit", b"k", b"v", headers))
    raw["provinces"]["SD"]["public_keys"] = [public_key_text(key.public_key())]
    sd_listed = Agreement.model_validate(raw)
    with pytest.raises(ConfigError, match="hxbus keys generate --province SD"):
        bridge_signer(settings, sd_listed, "SD")


def test_keyed_copy_gives_every_agency_and_bridge_a_key_that_signs(tmp_path: Path) -> None:
    """The demo's, the drill's and the bench's signed set-up: the copy lists one key for
    every agency and bridge, the repository's agreement is untouched, and each agency's
    private key signs what the copy's keys verify."""
    original = DEFAULT_AGREEMENT_PATH.read_bytes()
    settings = Settings(agreement=DEFAULT_AGREEMENT_PATH, state_dir=tmp_path / "unused")
    keyed, agreement = keyed_copy(settings, load_agreement(DEFAULT_AGREEMENT_PATH), tmp_path)
    assert (tmp_path / "agreement.toml", tmp_path / ".state") == (
        keyed.agreement,
        keyed.state_dir,
    )
    assert ([], original) == (keyless(agreement), DEFAULT_AGREEMENT_PATH.read_bytes())
    assert {1} == {len(a.public_keys) for a in agreement.agencies} | {
        len(p.public_keys) for p in agreement.provinces.values()
    }
    signer = agreement_signers(keyed, agreement)
    verifier = agreement_verifier(agreement, role=ROLE)
    assert signer is not None
    assert verifier is not None
    builder = MessageBuilder(agreement, signer=signer)
    sources = set()
    for event in SyntheticTraffic(agreement, seed=7, start=START).take(200):
        for message in builder.build(event)[1]:
            verifier.verify(received(message))  # raises SecurityError when refused
            sources.add(event.envelope.source)
    assert {a.id for a in agreement.agencies} == sources
    bridges = {p: bridge_signer(keyed, agreement, p) for p in agreement.provinces}
    assert [] == [p for p, bridge in bridges.items() if bridge is None]
