"""Which province receives which event: the inbound bridge's routing decision."""

from __future__ import annotations

from typing import Any

import pytest

from bridge import Reason, alert_recipients, decide
from bridge.recipients import sender_copy
from schemas import Agreement, load_agreement

AGREEMENT: Agreement = load_agreement()
XUZHOU, LIANYUNGANG, SUQIAN = "320300000000", "320700000000", "321300000000"
JINING, SHANGQIU, HUAIBEI = "370800000000", "411400000000", "340600000000"


def agencies(province: str) -> frozenset[str]:
    return frozenset(a.id for a in AGREEMENT.agencies_of(province))


def alert(issuer: str, handling: str, share_with: list[str] | None = None) -> dict[str, Any]:
    return {
        "alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "issuing_agency": issuer,
        "handling": handling,
        "share_with": share_with or [],
    }


def receivers(record: dict[str, Any], event_type: str = "PersonAlert") -> list[str]:
    """The provinces whose bridge delivers ``record``."""
    return [
        p for p in ("JS", "SD", "HA", "AH") if decide(event_type, record, None, agencies(p)).deliver
    ]


def test_share_all_alert_reaches_every_province_with_a_partner_of_the_issuer() -> None:
    """A Xuzhou SHARE_ALL alert goes to all four, Jiangsu too (Lianyungang, Suqian)."""
    assert ["JS", "SD", "HA", "AH"] == receivers(alert(XUZHOU, "SHARE_ALL_PARTNERS"))


def test_own_broadcast_does_not_return_to_a_province_whose_only_agency_issued_it() -> None:
    """Henan's only agency is Shangqiu: its own alert is not delivered back to Henan."""
    assert ["JS", "SD", "AH"] == receivers(alert(SHANGQIU, "SHARE_ALL_PARTNERS"))


@pytest.mark.parametrize("handling", ["NEED_TO_KNOW", "ORIGINATOR_CONTROL"])
def test_restricted_alert_reaches_only_provinces_in_share_with(handling: str) -> None:
    """NEED_TO_KNOW / ORIGINATOR_CONTROL: only the provinces of the share_with agencies."""
    assert ["SD", "AH"] == receivers(alert(XUZHOU, handling, [JINING, HUAIBEI]))


def test_restricted_alert_shared_only_with_the_issuer_itself_reaches_nobody() -> None:
    """The issuer is never its own recipient, even when share_with names it."""
    assert [] == receivers(alert(XUZHOU, "NEED_TO_KNOW", [XUZHOU]))


def test_restricted_alert_shared_within_the_issuers_province_stays_there() -> None:
    """Xuzhou sharing with Suqian only: Jiangsu's system gets it, nobody else."""
    assert ["JS"] == receivers(alert(XUZHOU, "ORIGINATOR_CONTROL", [SUQIAN]))


def test_unknown_handling_fails_closed_to_share_with() -> None:
    """A handling symbol added later (OTHER) is treated as restricted, not as share-all."""
    assert [] == receivers(alert(XUZHOU, "OTHER"))
    assert ["HA"] == receivers(alert(XUZHOU, "OTHER", [SHANGQIU]))


def test_alert_recipients_names_the_provinces_agencies_the_alert_is_for() -> None:
    """The agencies an alert is for, of the ones asked about, in their order."""
    js = [XUZHOU, LIANYUNGANG, SUQIAN]
    assert (LIANYUNGANG, SUQIAN) == alert_recipients(alert(XUZHOU, "SHARE_ALL_PARTNERS"), js)
    assert (SUQIAN,) == alert_recipients(alert(XUZHOU, "NEED_TO_KNOW", [SUQIAN, JINING]), js)


@pytest.mark.parametrize(
    "event_type", ["AlertHit", "HitConfirmation", "AssistanceRequest", "AssistanceResponse"]
)
def test_directed_event_reaches_only_the_province_of_its_target(event_type: str) -> None:
    """A directed event goes to the province of the envelope's target, and nowhere else."""
    decisions = {p: decide(event_type, {}, JINING, agencies(p)) for p in ("JS", "SD", "HA")}
    assert {"JS": False, "SD": True, "HA": False} == {p: d.deliver for p, d in decisions.items()}
    assert (Reason.ADDRESSED, (JINING,)) == (decisions["SD"].reason, decisions["SD"].agencies)
    assert Reason.NOT_ADDRESSED == decisions["JS"].reason


def test_directed_event_without_target_reaches_nobody() -> None:
    """No target: not addressed to any province (the publisher refuses it anyway)."""
    assert not decide("AlertHit", {}, None, agencies("SD")).deliver


def test_status_change_follows_the_alert_the_province_holds() -> None:
    """A withdrawal goes where the alert went: by the held-alert record, not by share_with."""
    change = {"alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31", "status": "WITHDRAWN"}
    held = decide("AlertStatusChange", change, None, agencies("SD"), holds_alert=True)
    not_held = decide("AlertStatusChange", change, None, agencies("SD"), holds_alert=False)
    assert (True, Reason.HELD) == (held.deliver, held.reason)
    assert (False, Reason.NOT_HELD) == (not_held.deliver, not_held.reason)


def test_unknown_event_type_is_not_delivered() -> None:
    """A type the contract does not have is for nobody."""
    assert Reason.UNKNOWN_TYPE == decide("Gossip", {}, JINING, agencies("SD")).reason


def test_sender_copy_is_filtered_as_the_senders_record() -> None:
    """A message addressed to its own source (the sender's copy of a hit or request) is
    never for the local system: filtered, reason sender_copy; any other is left to decide."""
    own = sender_copy(SHANGQIU, SHANGQIU)
    assert (False, Reason.SENDER_COPY, None, None) == (
        own.deliver if own else None,
        own.reason if own else None,
        sender_copy(SHANGQIU, JINING),
        sender_copy(SHANGQIU, None),
    )
