"""Metric names: those a PromQL expression reads, and those hxbus exposes.

Shared by the tests of the alerting rules and of the Grafana dashboard, which must never
query a series that no hxbus process can produce (a typo there is an alert that never
fires, or a panel that stays empty while the exchange burns).
"""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

#: Series Prometheus makes itself for every target.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_WORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, keywords, labels left out)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _NAME.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in _WORDS:
            names.add(match.group())
    return names


def exposed_names() -> set[str]:
    """Every sample name the hxbus processes can expose, from the default registry.

    Importing the command line imports every role, hence every module that declares a
    metric. A labelled metric has no samples before its first use, so names are derived
    from each family's type, as the exposition format writes them.
    """
    import hxbus.cli  # noqa: F401  (declares every metric, as a running role does)

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names
