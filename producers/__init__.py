"""Publishing: the Publisher (validate, encode, route, sign, send), routing, synthetic traffic."""

from producers.duplicates import DuplicateCheck, KnownAlert, LiveAlerts
from producers.outgoing import MessageBuilder, OutgoingMessage
from producers.pacing import RateMeter, TokenBucket, paced
from producers.publisher import Outcome, Publisher, Receipt, producer_overrides
from producers.routing import DIRECTED_TYPES, Route, fan_out_message_id, routes
from producers.synthetic import SyntheticTraffic

__all__ = [
    "DIRECTED_TYPES",
    "DuplicateCheck",
    "KnownAlert",
    "LiveAlerts",
    "MessageBuilder",
    "Outcome",
    "OutgoingMessage",
    "Publisher",
    "RateMeter",
    "Receipt",
    "Route",
    "SyntheticTraffic",
    "TokenBucket",
    "fan_out_message_id",
    "paced",
    "producer_overrides",
    "routes",
]
