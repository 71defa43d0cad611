"""kafka-python's exceptions mapped to the ``schemas.errors`` tree, inside the boundary.

Every method of the kafka-python transport runs its client calls in ``kafka_errors()``,
so what leaves ``runtime.kafka`` is ours, re-raised ``from`` the original: callers decide
retry-or-DLQ from ``retriable`` on our classes, never from a client's. (The librdkafka
transport maps ``KafkaException`` in its own module.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kafka.errors as kafka_error

from schemas.errors import BrokerError, BrokerUnavailable, NotAuthorized

#: kafka-python errors that mean "the broker did not answer": retry later. kafka-python 3
#: reports an unreachable bootstrap as KafkaTimeoutError ("Unable to bootstrap"); the
#: NoBrokersAvailable of 2.x no longer exists.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    kafka_error.KafkaTimeoutError,
    kafka_error.KafkaConnectionError,
    kafka_error.NodeNotReadyError,
    kafka_error.RequestTimedOutError,
    kafka_error.BrokerNotAvailableError,
    ConnectionError,
)
#: kafka-python errors that mean "the broker refused who we are": retrying will not help.
_REFUSED: tuple[type[BaseException], ...] = (
    kafka_error.AuthorizationError,  # Topic/Group/Cluster/TransactionalId/DelegationToken
    kafka_error.SaslAuthenticationFailedError,
    kafka_error.UnsupportedSaslMechanismError,
    kafka_error.IllegalSaslStateError,
)


def mapped(exc: BaseException, action: str = "") -> BaseException:
    """Our error for a kafka-python exception (chained to it); other exceptions as they are."""
    prefix = f"{action}: " if action else ""
    ours: BaseException
    if isinstance(exc, _REFUSED):
        ours = NotAuthorized(f"{prefix}{exc}")
    elif isinstance(exc, _UNAVAILABLE):
        ours = BrokerUnavailable(f"{prefix}{exc}")
    elif isinstance(exc, kafka_error.KafkaError):
        ours = BrokerError(f"{prefix}{exc}")
    else:
        return exc
    ours.__cause__ = exc
    return ours


@contextmanager
def kafka_errors(action: str = "") -> Iterator[None]:
    """Map kafka-python exceptions raised inside the block to hxbus errors.

    ``action`` (e.g. ``"create topic hx.audit"``) prefixes the message so an operator sees
    what was being done. Our own errors and non-Kafka exceptions pass through untouched.
    """
    prefix = f"{action}: " if action else ""
    try:
        yield
    except _REFUSED as exc:
        raise NotAuthorized(f"{prefix}{exc}") from exc
    except _UNAVAILABLE as exc:
        raise BrokerUnavailable(f"{prefix}{exc}") from exc
    except kafka_error.KafkaError as exc:
        raise BrokerError(f"{prefix}{exc}") from exc


def raise_for_error_code(code: int, context: str | None = None) -> None:
    """Raise the hxbus error for a broker error code found in a response (0 = no error).

    kafka-python's admin calls with ``raise_errors=False`` hand back codes, not exceptions.
    """
    if code == 0:
        return
    error_class = kafka_error.for_code(code)
    with kafka_errors():
        raise error_class(context) if context else error_class()
