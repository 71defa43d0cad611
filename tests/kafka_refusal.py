"""The Kafka error name behind an hxbus error, on either transport (not a test module)."""

from __future__ import annotations

import re


def refusal_name(exc: BaseException) -> str:
    """``TOPIC_AUTHORIZATION_FAILED`` for the client exception ``exc`` is chained to:
    librdkafka's ``KafkaError.name()``, or kafka-python's class name in Kafka's spelling
    (``TopicAuthorizationFailedError``)."""
    cause = exc.__cause__
    args = getattr(cause, "args", ())
    name = getattr(args[0], "name", None) if args else None
    if callable(name):
        return str(name())
    words = type(cause).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", words).upper()
