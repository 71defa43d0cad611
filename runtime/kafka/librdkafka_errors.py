"""librdkafka's errors (``KafkaError`` codes) mapped to the ``schemas.errors`` tree.

Refused (``NotAuthorized``), unanswered (``BrokerUnavailable``, retriable) or any other
refusal (``BrokerError``, not retriable when librdkafka marks it fatal or no retry changes
it). Every client call of the librdkafka transport runs inside ``kafka_errors``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import confluent_kafka as ck

from schemas.errors import BrokerError, BrokerUnavailable, HxError, NotAuthorized

#: librdkafka's error class; its attributes are the error codes.
E = ck.KafkaError

#: "Who we are" refused: retrying will not help.
_REFUSED_CODES = frozenset(
    {
        E._AUTHENTICATION,
        E.SASL_AUTHENTICATION_FAILED,
        E.UNSUPPORTED_SASL_MECHANISM,
        E.ILLEGAL_SASL_STATE,
        E.TOPIC_AUTHORIZATION_FAILED,
        E.GROUP_AUTHORIZATION_FAILED,
        E.CLUSTER_AUTHORIZATION_FAILED,
        E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        E.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
    }
)
#: "The broker did not answer": retry later.
_UNAVAILABLE_CODES = frozenset(
    {
        E._TRANSPORT,
        E._ALL_BROKERS_DOWN,
        E._TIMED_OUT,
        E._MSG_TIMED_OUT,
        E._RESOLVE,
        E._WAIT_COORD,
        E.REQUEST_TIMED_OUT,
        E.BROKER_NOT_AVAILABLE,
        E.NETWORK_EXCEPTION,
        E.LEADER_NOT_AVAILABLE,
        E.NOT_LEADER_FOR_PARTITION,
        E.COORDINATOR_NOT_AVAILABLE,
        E.NOT_COORDINATOR,
        E.COORDINATOR_LOAD_IN_PROGRESS,
    }
)


#: Refusals that no retry changes: the record or the request itself is wrong, or this
#: producer was fenced by a newer one with its transactional id.
_FINAL_CODES = frozenset(
    {
        E.MSG_SIZE_TOO_LARGE,
        E.RECORD_LIST_TOO_LARGE,
        E.INVALID_RECORD,
        E.INVALID_CONFIG,
        E.INVALID_REQUEST,
        E.UNSUPPORTED_VERSION,
        E.INVALID_TRANSACTION_TIMEOUT,
        E.PRODUCER_FENCED,
        E._FENCED,
        E.INVALID_PRODUCER_EPOCH,
    }
)


def error_for(error: ck.KafkaError, action: str = "") -> BrokerError:
    """Our error for a librdkafka ``KafkaError``: refused (``NotAuthorized``), unanswered
    (``BrokerUnavailable``) or any other refusal (``BrokerError``, retriable as on
    kafka-python, except a fatal error, e.g. a fenced producer, and the refusals of
    ``_FINAL_CODES``, which no retry changes)."""
    prefix = f"{action}: " if action else ""
    text = f"{prefix}{error.str()} ({error.name()})"
    code = error.code()
    ours: BrokerError
    if code in _REFUSED_CODES:
        ours = NotAuthorized(text)
    elif code in _UNAVAILABLE_CODES:
        ours = BrokerUnavailable(text)
    else:
        ours = BrokerError(text)
        if error.fatal() or code in _FINAL_CODES:
            ours.retriable = False
    # Chained to the client's error, as when raised ``from`` it (callers and tests read
    # the Kafka error name there); ``raise ... from exc`` replaces it with the original.
    ours.__cause__ = ck.KafkaException(error)
    return ours


def kafka_error_of(exc: BaseException) -> ck.KafkaError | None:
    if isinstance(exc, ck.KafkaException) and exc.args and isinstance(exc.args[0], E):
        return exc.args[0]
    return None


@contextmanager
def kafka_errors(action: str = "") -> Iterator[None]:
    """Map confluent-kafka exceptions raised inside the block to hxbus errors (``from``
    the original); our own errors and other exceptions pass through untouched."""
    try:
        yield
    except HxError:
        raise
    except ck.KafkaException as exc:
        error = kafka_error_of(exc)
        if error is None:
            raise BrokerError(f"{action}: {exc}" if action else str(exc)) from exc
        raise error_for(error, action) from exc
    except BufferError as exc:  # the local queue is full: the broker is not taking records
        raise BrokerUnavailable(f"{action}: {exc}" if action else str(exc)) from exc


def raise_if(error: ck.KafkaError | None, action: str) -> None:
    if error is not None and error.code() != E.NO_ERROR:
        raise error_for(error, action)


def error_code(exc: BaseException) -> int | None:
    cause = exc.__cause__ if isinstance(exc, HxError) else exc
    error = kafka_error_of(cause) if cause is not None else None
    return error.code() if error is not None else None
