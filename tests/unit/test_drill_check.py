"""The drill's checker and schedule, offline: what counts as found in an inbox, when
deliveries resumed after a fault, which faults a ``--faults`` list names, how durations
scale."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.tracker import second_notice_id
from hxbus.cli import main
from hxbus.commands import drill as drill_command
from hxbus.drill import FAULT_NAMES, Timing, select_faults
from hxbus.drill.check import Window, _resumption, _second_notices
from hxbus.drill.found import Found, found_in_inbox
from hxbus.drill.ledger import AckedCopy, Copy
from producers.routing import fan_out_message_id
from schemas.errors import ConfigError


def test_inbox_files_count_by_message_id_and_temporary_files_do_not(tmp_path: Path) -> None:
    """``<id>.json`` is found; a ``.hx-…tmp`` file of an interrupted batch is not."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "m-1.json").write_bytes(b"{}")
    (inbox / ".hx-m-2.json.ab12cd34.tmp").write_bytes(b"{}")
    assert {"m-1": 1} == dict(found_in_inbox(inbox).stored)


def _found(*times: float) -> Found:
    return Found(first_at={f"m{i}": t for i, t in enumerate(times)})


def test_resumed_is_the_end_of_the_longest_stall_that_began_during_the_fault() -> None:
    """A province silent from 100.5 to 112 during a fault that began at 100: resumed
    after 12 s; a province that kept receiving does not decide it."""
    fault = Window("broker", "", started=100.0, ended=130.0)
    found = {
        "JS": _found(100.5, 112.0, 112.5, 113.0),
        "SD": _found(*(100.0 + i * 0.5 for i in range(60))),
    }
    _resumption([Window("baseline", "", 0.0, 100.0), fault], found)
    assert (12.0, "JS") == (fault.resumed_s, fault.detail["slowest_province"])


def test_no_stall_is_resumed_at_once() -> None:
    """Deliveries never paused longer than the stall threshold: 0.0."""
    fault = Window("freeze", "", started=10.0, ended=20.0)
    _resumption([Window("baseline", "", 0.0, 10.0), fault], {"JS": _found(10.2, 11.0, 12.0)})
    assert 0.0 == fault.resumed_s


def test_faults_list_keeps_the_schedule_order_and_refuses_unknown_names() -> None:
    """``cluster,broker`` runs broker first; ``nap`` is a ConfigError naming --faults."""
    chosen = [f.name for f in select_faults("cluster,broker")]
    with pytest.raises(ConfigError, match=r"--faults: 'nap' is not a fault"):
        select_faults("nap")
    assert (["broker", "cluster"], 9) == (chosen, len(FAULT_NAMES))


def test_ten_minutes_use_the_issues_durations_and_two_minutes_scale_them() -> None:
    """--minutes 10: 30 s down, 60 s of 503, the sink's own 30 s timeout; --minutes 2:
    a tenth, the sink's timeout 3 s, the hang a third past it."""
    full, short = Timing.for_minutes(10), Timing.for_minutes(2)
    actual = (
        (full.broker_down_s, full.http_503_s, full.freeze_s, full.http_timeout),
        (short.broker_down_s, short.http_503_s, short.http_timeout, short.hang_s),
    )
    assert ((30.0, 60.0, 20.0, None), (3.0, 6.0, 3.0, 4.0)) == actual


def test_ports_in_the_ephemeral_range_are_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--ports 36000-36999 on a host whose ephemeral range is 32768-60999: exit 2, the
    message names --ports and the range (a client's self-connect once took a stopped
    broker's port there and the cluster could not restart)."""
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text("32768\t60999\n")
    monkeypatch.setattr(drill_command, "EPHEMERAL_RANGE_FILE", ephemeral)
    status = main(["drill", "--ports", "36000-36999", "--root", str(tmp_path / "drill")])
    message = capsys.readouterr().err
    expected = (2, True, False)
    actual = (status, "--ports: 36000-36999 overlaps" in message, (tmp_path / "drill").exists())
    assert expected == actual


def test_a_second_notice_of_a_request_copy_is_known_by_its_rerouted_id() -> None:
    """The tracker's notice of a request copy to Xuzhou travels under
    fan_out(second_notice_id(copy), Xuzhou): the checker maps it back to the copy (the
    first full drill counted 31 of them as unexpected)."""
    copy = Copy("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab", "AssistanceRequest",
                "hx.inbox.320300000000", 0, 3, "k", None, {"JS": ("320300000000",)})  # fmt: skip
    notice = fan_out_message_id(second_notice_id(copy.message_id), "320300000000")
    notices = _second_notices([AckedCopy(copy, 1, 10.0, resent=False)])
    assert copy.message_id == notices[notice]
