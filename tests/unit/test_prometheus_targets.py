"""deploy/prometheus/prometheus.yml scrapes exactly the agreement's metrics ports: the
publisher, tracker and lookup service, and each province's bridge with its province label
(a YAML file cannot derive from the agreement, so this test holds it to it)."""

from __future__ import annotations

import re
from pathlib import Path

from hxbus.role_ports import role_ports
from schemas import DEFAULT_AGREEMENT_PATH, load_agreement

PROMETHEUS_YML = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "prometheus.yml"
JOB = re.compile(r"^\s*- job_name: (\S+)\s*$")
TARGET = re.compile(r'^\s*- targets: \["127\.0\.0\.1:(\d+)"\]\s*$')
PROVINCE = re.compile(r"^\s*province: (\S+)\s*$")


def scraped(text: str) -> set[tuple[str, int, str | None]]:
    """(job, port, province label) of every static target of the scrape config."""
    found: list[tuple[str, int, str | None]] = []
    job = ""
    for line in text.splitlines():
        if match := JOB.match(line):
            job = match.group(1)
        elif match := TARGET.match(line):
            found.append((job, int(match.group(1)), None))
        elif (match := PROVINCE.match(line)) and found:
            found[-1] = (*found[-1][:2], match.group(1))
    return set(found)


def test_prometheus_scrapes_the_agreements_metrics_ports() -> None:
    """One job per role kind (hxbus-publisher, -tracker, -lookup, -bridge), one target
    per role on its agreement port, each bridge labelled with its province key."""
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    expected = {(f"hxbus-{r.kind}", r.port, r.province) for r in role_ports(agreement)}
    assert expected == scraped(PROMETHEUS_YML.read_text(encoding="utf-8"))


def test_a_missing_target_is_seen() -> None:
    """The reader of the scrape config sees a target, its job and its label (a config
    without the lookup job differs from the agreement's list)."""
    text = PROMETHEUS_YML.read_text(encoding="utf-8")
    without_lookup = re.sub(r"  - job_name: hxbus-lookup\n(.*\n){2}", "", text)
    missing = scraped(text) - scraped(without_lookup)
    assert {("hxbus-lookup", 9402, None)} == missing
