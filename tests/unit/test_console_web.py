"""The console's web application and operator logins: safety headers, closed filters,
sessions in HttpOnly cookies, and no action without a login and its CSRF token."""

from __future__ import annotations

import stat
import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 under its TestClient and warns when it finds httpx;
    # httpx (a dependency already) drives it the same for these tests.
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

from hxbus.cli import main
from hxbus.commands.console import roles_of
from hxbus.console import ExchangeConsole, OperatorLogins, Principal, operator_password_file
from hxbus.console.operators import LOCKOUT_S, MAX_FAILURES
from hxbus.console.web import CSRF_HEADER, SESSION_COOKIE, console_app
from runtime.secrets import read_secret
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, load_agreement
from schemas.errors import ConfigError


class FakeDesk:
    """Stands in for the dead-letter desk: records who replayed what."""

    def __init__(self) -> None:
        self.replays: list[tuple[str, str, str]] = []

    def replay(self, operator: str, group: str, entry_id: str) -> dict[str, str]:
        self.replays.append((operator, group, entry_id))
        return {"status": "replayed", "detail": "to hx.inbox.x/0"}


@pytest.fixture
def console(agreement: Agreement, tmp_path: Path) -> ExchangeConsole:
    return ExchangeConsole(agreement, Principal("auditor"), OperatorLogins(tmp_path))


@pytest.fixture
def client(console: ExchangeConsole) -> TestClient:
    return TestClient(console_app(console))


def _password(tmp_path: Path) -> str:
    return read_secret(operator_password_file(tmp_path, "operator"))


def test_page_is_served_with_safety_headers(client: TestClient) -> None:
    """The page and its script come from this origin, uncached, unframed, no referrer."""
    page = client.get("/")
    script = client.get("/static/console.js")

    assert (200, 200) == (page.status_code, script.status_code)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "no-store" == page.headers["cache-control"]
    assert "no-referrer" == page.headers["referrer-policy"]
    assert "localStorage" not in script.text
    assert "sessionStorage" not in script.text


def test_state_says_starting_before_the_region_is_attached(client: TestClient) -> None:
    """Before the demo attaches its sources, a snapshot says it is starting."""
    body = client.get("/api/state").json()

    assert (True, "auditor") == (body["starting"], body["principal"])


@pytest.mark.parametrize(
    ("query", "field"),
    [("kind=BOAT", "kind"), ("status=LOST", "status"), ("agency=110100000000", "agency")],
)
def test_alert_filters_outside_their_closed_sets_are_refused(
    client: TestClient, query: str, field: str
) -> None:
    """A filter value outside its set is a 400 naming the filter."""
    answer = client.get(f"/api/state?{query}")

    assert 400 == answer.status_code
    assert answer.json()["error"].startswith(f"{field}: must be")


def test_replay_without_a_login_is_refused(client: TestClient, console: Any) -> None:
    """No session cookie: 401, and the desk is never asked."""
    desk = FakeDesk()
    console.sources = type("S", (), {"desk": desk})()

    answer = client.post("/api/dlq/replay", json={"group": "g", "entry": "0"})

    assert (401, "replay needs an operator login") == (answer.status_code, answer.json()["error"])
    assert [] == desk.replays


def test_replay_with_a_session_but_without_its_csrf_token_is_refused(
    client: TestClient, console: Any, tmp_path: Path
) -> None:
    """The cookie alone (what another site could make the browser send) is not enough."""
    desk = FakeDesk()
    console.sources = type("S", (), {"desk": desk})()
    client.post("/api/login", json={"name": "operator", "password": _password(tmp_path)})

    answer = client.post(
        "/api/dlq/replay", json={"group": "g", "entry": "0"}, headers={CSRF_HEADER: "forged"}
    )

    assert 401 == answer.status_code
    assert [] == desk.replays


def test_replay_with_a_login_is_done_in_the_operators_name(
    client: TestClient, console: Any, tmp_path: Path
) -> None:
    """Login, then replay with the session's CSRF token: the desk replays as that operator."""
    desk = FakeDesk()
    console.sources = type("S", (), {"desk": desk})()
    login = client.post("/api/login", json={"name": "operator", "password": _password(tmp_path)})

    answer = client.post(
        "/api/dlq/replay",
        json={"group": "hx.bridge.js", "entry": "7"},
        headers={CSRF_HEADER: login.json()["csrf"]},
    )

    assert {"status": "replayed", "detail": "to hx.inbox.x/0"} == answer.json()
    assert [("operator", "hx.bridge.js", "7")] == desk.replays


def test_login_sets_an_http_only_strict_cookie_and_never_echoes_the_password(
    client: TestClient, tmp_path: Path
) -> None:
    """The session token travels in an HttpOnly, SameSite=Strict cookie only."""
    password = _password(tmp_path)
    login = client.post("/api/login", json={"name": "operator", "password": password})

    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert password not in login.text
    assert "operator" == client.get("/api/session").json()["operator"]


def test_wrong_password_is_refused_and_logout_ends_the_session(
    client: TestClient, tmp_path: Path
) -> None:
    """A wrong password is a 401; after logout the session is gone."""
    wrong = client.post("/api/login", json={"name": "operator", "password": "guess"})
    client.post("/api/login", json={"name": "operator", "password": _password(tmp_path)})
    client.post("/api/logout")

    assert 401 == wrong.status_code
    assert client.get("/api/session").json()["operator"] is None


def test_operator_password_is_generated_in_a_private_file(tmp_path: Path) -> None:
    """The password file is made on first start, mode 0600, and kept across starts."""
    first = OperatorLogins(tmp_path)
    path = operator_password_file(tmp_path, "operator")
    again = OperatorLogins(tmp_path)

    assert 0o600 == stat.S_IMODE(path.stat().st_mode)
    assert first.password_files == again.password_files
    assert again.login("operator", path.read_text().strip()) is not None


def test_repeated_wrong_passwords_lock_the_name_for_a_while(tmp_path: Path) -> None:
    """After MAX_FAILURES wrong passwords even the right one is refused until LOCKOUT_S."""
    now = [0.0]
    logins = OperatorLogins(tmp_path, clock=lambda: now[0])
    password = _password(tmp_path)
    for _ in range(MAX_FAILURES):
        assert logins.login("operator", "wrong") is None

    locked = logins.login("operator", password)
    now[0] += LOCKOUT_S + 1
    unlocked = logins.login("operator", password)

    assert locked is None
    assert unlocked is not None


def test_console_command_refuses_a_principal_outside_the_agreement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hxbus console --as`` someone unknown: exit 2, the option named, nothing served."""
    monkeypatch.setenv("HX_STATE_DIR", str(tmp_path))
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)

    status = main(["console", "--as", "nobody"])

    assert 2 == status
    assert "--as: 'nobody' is neither 'auditor' nor an agency id" in capsys.readouterr().err
    assert not operator_password_file(tmp_path, "operator").exists()


def test_metrics_urls_name_their_roles_and_bridges_their_province() -> None:
    """``NAME=URL``: a ``bridge XX`` is province XX's bridge; a malformed one is refused."""
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    roles = roles_of(["publisher=http://h:1/metrics", "bridge SD=http://h:2/metrics"], agreement)

    assert [("publisher", "publisher", None), ("bridge SD", "bridge", "SD")] == [
        (r.name, r.kind, r.province) for r in roles
    ]
    with pytest.raises(ConfigError, match="--metrics-url"):
        roles_of(["bridge SD"], agreement)
