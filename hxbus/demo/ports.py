"""The metrics ports of the demo's roles, as deploy/prometheus/prometheus.yml scrapes them."""

from __future__ import annotations

from hxbus.top_frame import DEFAULT_PORTS

PUBLISHER_PORT, TRACKER_PORT = DEFAULT_PORTS[0], DEFAULT_PORTS[1]
#: The lookup service's metrics port (beside the tracker's; not among ``hxbus top``'s).
LOOKUP_PORT = 9402
#: Bridge metrics ports by province, as deploy/prometheus/prometheus.yml lists them.
BRIDGE_PORTS: dict[str, int] = dict(zip(("JS", "SD", "HA", "AH"), DEFAULT_PORTS[2:], strict=True))
