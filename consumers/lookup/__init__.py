"""The operator's lookup service role: hit/no-hit answers on need-to-know alerts'
subjects (``service``)."""

from consumers.lookup.service import (
    INBOX_GROUP,
    LOOKUP_GROUP,
    LookupIndex,
    LookupService,
    RateLimits,
    load_index,
    load_lookup_key,
    lookup_key_file,
    run_lookup,
)

__all__ = [
    "INBOX_GROUP",
    "LOOKUP_GROUP",
    "LookupIndex",
    "LookupService",
    "RateLimits",
    "load_index",
    "load_lookup_key",
    "lookup_key_file",
    "run_lookup",
]
