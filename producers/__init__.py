"""Publishing: the Publisher (validate, encode, route, sign, send), routing, synthetic traffic."""

from producers.duplicates import DuplicateCheck, KnownAlert, LiveAlerts, SubjectLookup
from producers.lookup_client import LazyLookup, LookupClient
from producers.outgoing import MessageBuilder, OutgoingMessage
from producers.pacing import RateMeter, TokenBucket, paced
from producers.publisher import Publisher, PublishOutcome, Receipt, producer_overrides
from producers.routing import (
    DIRECTED_TYPES,
    Route,
    fan_out_message_id,
    narrowing_withdrawals,
    routes,
)
from producers.synthetic import SyntheticTraffic, stamped_at

__all__ = [
    "DIRECTED_TYPES",
    "DuplicateCheck",
    "KnownAlert",
    "LazyLookup",
    "LiveAlerts",
    "LookupClient",
    "MessageBuilder",
    "OutgoingMessage",
    "PublishOutcome",
    "Publisher",
    "RateMeter",
    "Receipt",
    "Route",
    "SubjectLookup",
    "SyntheticTraffic",
    "TokenBucket",
    "fan_out_message_id",
    "narrowing_withdrawals",
    "paced",
    "producer_overrides",
    "routes",
    "stamped_at",
]
