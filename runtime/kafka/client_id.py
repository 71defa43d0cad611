"""The client id every hxbus client shows the broker: one per role (and worker)."""

from __future__ import annotations

from runtime.settings import Settings

#: Prefix of every role's client id (``hxbus-bridge-JS-1``, ``hxbus-tracker``).
CLIENT_ID_PREFIX = "hxbus"


def role_client_id(role: str, worker: int | None = None) -> str:
    """The Kafka client id of a role (and its worker number): ``hxbus-<role>[-<worker>]``."""
    return f"{CLIENT_ID_PREFIX}-{role}" + ("" if worker is None else f"-{worker}")


def for_role(settings: Settings, role: str, worker: int | None = None) -> Settings:
    """``settings`` whose Kafka clients (every factory of ``runtime.kafka``) name ``role``
    and ``worker``.

    The broker shows the client id in ``kafka-consumer-groups --describe``, its request
    logs and quotas: one id per role tells a bridge from the tracker there. A role id is
    refined (``hxbus-bridge`` to ``hxbus-bridge-JS-1``); an ``HX_CLIENT_ID`` of the
    operator's own (not ``hxbus`` or ``hxbus-…``) wins.
    """
    current = settings.client_id
    if current != CLIENT_ID_PREFIX and not current.startswith(f"{CLIENT_ID_PREFIX}-"):
        return settings
    return settings.model_copy(update={"client_id": role_client_id(role, worker)})
