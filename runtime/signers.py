"""Which signer and verifier each role gets, from its key files and the agreement.

No key anywhere is development mode: nothing is signed, nothing verified (a warning says
so). As soon as the agreement lists one key, every message must be signed: a publisher
without its key, or with a key the agreement does not list, is refused at start
(``ConfigError``) rather than sending what every receiver would dead-letter. The
signatures themselves are ``runtime.signing``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runtime.settings import Settings
from runtime.signing import AgencySigners, AgreementVerifier, Ed25519Signer, Signer, Verifier
from runtime.signing_keys import key_id, parse_public_key, private_key_path, read_private_key
from schemas.agreement import Agreement, bridge_principal
from schemas.errors import ConfigError

log = structlog.get_logger("hxbus.signing")


def load_signer(settings: Settings, agency: str) -> Signer | None:
    """The signer of ``agency`` from its private key file, or None when it has none.

    ConfigError when the file exists but others may read it or it is not an Ed25519 key.
    """
    path = private_key_path(settings.state_dir, agency)
    if not path.exists():
        return None
    return Ed25519Signer(agency, read_private_key(path))


def bridge_verifier(agreement: Agreement, *, role: str = "auditor") -> AgreementVerifier | None:
    """A verifier over the public keys of the provinces' bridges (``[provinces.X]``), whose
    messages say ``ce_source = bridge-<x>`` (their audit records); None when no province
    lists a key. ConfigError as for ``agreement_verifier``."""
    keys = _listed_keys(
        (bridge_principal(province), f"province {province}", spec.public_keys)
        for province, spec in agreement.provinces.items()
    )
    return AgreementVerifier(keys, role) if keys else None


def bridge_signer(settings: Settings, agreement: Agreement, province: str) -> Signer | None:
    """The signer of the province's bridge (``<state>/keys/bridge-<x>.ed25519.pem``).

    None only when the bridge has no private key and its province lists no public key
    (development: its audit records go unsigned and show as UNVERIFIED). ConfigError
    when the province lists keys but the private key is not here, or is not listed.
    """
    name = bridge_principal(province)
    signer = load_signer(settings, name)
    listed = agreement.provinces[province].public_keys
    if signer is None:
        if listed:
            raise ConfigError(
                f"province {province}: the agreement lists public keys of its bridge, but "
                f"{private_key_path(settings.state_dir, name)} does not exist "
                f"(hxbus keys generate --province {province})"
            )
        return None
    assert isinstance(signer, Ed25519Signer)
    if signer.key_id not in {key_id(parse_public_key(k, province)) for k in listed}:
        raise ConfigError(
            f"province {province}: the bridge's private key {signer.key_id} is not among the "
            "province's public_keys in the agreement; its audit records would not verify "
            f"(hxbus keys generate --province {province})"
        )
    return signer


def agreement_verifier(agreement: Agreement, *, role: str = "consumer") -> Verifier | None:
    """A verifier over the agreement's public keys; None when it lists none at all.

    No key anywhere is development mode (nothing is signed). As soon as one agency has a
    key, every message must be signed, by anyone. ConfigError when a key is not an
    Ed25519 public key or two agencies list the same one.
    """
    keys = _listed_keys(
        (agency.id, f"agency {agency.id}", agency.public_keys) for agency in agreement.agencies
    )
    return AgreementVerifier(keys, role) if keys else None


def receiver_verifier(settings: Settings, agreement: Agreement, *, role: str) -> Verifier | None:
    """The verifier of a receiving role (bridge, tracker, register): secured by default.

    With public keys in the agreement: ``agreement_verifier``. Without any, on a broker
    this role logs in to (SASL), still a verifier: one that knows no key, so every
    message is refused as unsigned (to the DLQ, audited SECURITY_REJECTED) — running
    unsigned is for a plain development broker only. There (no login) None, and the role
    says at start, in a warning, that it verifies nothing.
    """
    verifier = agreement_verifier(agreement, role=role)
    if verifier is not None:
        return verifier
    if settings.effective_security_protocol.startswith("SASL_"):
        log.warning(
            "signatures_required_but_no_keys",
            role=role,
            detail="secured broker and no public key in the agreement: every message is "
            "refused as unsigned (hxbus keys generate --agency A)",
        )
        return AgreementVerifier({}, role)
    log.warning(
        "running_without_verification",
        role=role,
        detail="the agreement lists no public key: messages are not verified; for a plain "
        "development broker only (hxbus keys generate --agency A)",
    )
    return None


def agreement_signer(settings: Settings, agreement: Agreement, agency: str) -> Signer | None:
    """``load_signer`` checked against the agreement, for the commands that publish.

    None only when the agency has no private key and the agreement lists no public key
    at all (development). ConfigError when receivers would refuse what it sends: the
    agreement holds keys but the agency has no private key here, or its key is not listed.
    """
    signer = load_signer(settings, agency)
    listed = agreement.agency(agency).public_keys
    if signer is None:
        if any(a.public_keys for a in agreement.agencies):
            path = private_key_path(settings.state_dir, agency)
            raise ConfigError(
                f"agency {agency}: the agreement holds public keys, so every message must be "
                f"signed, but {path} does not exist; receivers dead-letter unsigned messages "
                "(hxbus keys generate)"
            )
        return None
    assert isinstance(signer, Ed25519Signer)
    if signer.key_id not in {key_id(parse_public_key(k, agency)) for k in listed}:
        raise ConfigError(
            f"agency {agency}: its private key {signer.key_id} is not among its public_keys "
            "in the agreement; receivers would refuse its messages"
        )
    return signer


def agreement_signers(settings: Settings, agreement: Agreement) -> Signer | None:
    """One signer for messages of any agency that has a key here (``hxbus simulate``)."""
    signers = {}
    for agency in agreement.agencies:  # ConfigError for the first one that cannot sign
        signer = agreement_signer(settings, agreement, agency.id)
        if signer is not None:
            signers[agency.id] = signer
    if not signers:
        return None
    return AgencySigners(signers)


def _listed_keys(
    owners: Iterable[tuple[str, str, Sequence[str]]],
) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """Key id -> (owner, public key) over ``(owner, where, public_keys)``; ConfigError when
    a key is not an Ed25519 public key or two owners list the same one."""
    keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
    for owner, where, listed in owners:
        for index, text in enumerate(listed):
            public = parse_public_key(text, f"{where}: public_keys[{index}]")
            kid = key_id(public)
            other = keys.get(kid)
            if other is not None and other[0] != owner:
                raise ConfigError(f"{where}: public_keys[{index}] is listed by {other[0]} too")
            keys[kid] = (owner, public)
    return keys
