"""Fixed records of the codec tests: one valid record per event type, in the record form.

``PERSON_ALERT`` is the record of the golden bytes (tests/unit/golden/codec/): changing it
changes the golden file, which is a contract change.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

_ISSUED = datetime(2026, 11, 20, 1, 15, tzinfo=UTC)

PERSON_ALERT: dict[str, Any] = {
    "alert_id": "0b7d3f4e-6a2c-4e59-9d1f-3c8a5b6e7f10",
    "revision": 2,
    "category": "WANTED",
    "subject": {
        "name": "王建国",
        "name_pinyin": "WANG Jianguo",
        "aliases": ["王三"],
        "sex": "MALE",
        "birth_date": date(1979, 6, 14),
        "id_number": "320303197906140019",
        "nationality": "CHN",
        "height_cm": 172,
        "description": "左眉有疤",
        "photos": [
            {
                "uri": "https://img.xz.gaj.example/p/0b7d3f4e.jpg",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            }
        ],
    },
    "reason": "涉嫌抢劫",
    "case_ref": "XZ-2026-0117",
    "caution_flags": ["ARMED", "ESCAPE_RISK"],
    "requested_action": "LOCATE_AND_DETAIN",
    "last_known": {
        "lat": 34.2044,
        "lon": 117.2859,
        "admin_code": "320303",
        "address": "云龙区和平路",
        "observed_at": datetime(2026, 11, 19, 22, 40, 5, 250000, tzinfo=UTC),
    },
    "issuing_agency": "320300000000",
    "issued_at": _ISSUED,
    "valid_until": datetime(2026, 12, 20, 1, 15, tzinfo=UTC),
    "handling": "NEED_TO_KNOW",
    "share_with": ["370400000000", "341300000000"],
    "legal_basis": "徐公(刑)拘字〔2026〕117号",
    "contact": {"unit": "徐州市公安局刑侦支队", "officer": "李明", "phone": "0516-83000000"},
    "related_alerts": ["5a0e6c1d-2b3f-4a7e-8c9d-0e1f2a3b4c5d"],
}

ALERT_HIT: dict[str, Any] = {
    "hit_id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
    "alert_id": PERSON_ALERT["alert_id"],
    "alert_kind": "PERSON",
    "reporting_agency": "341300000000",
    "observed_at": datetime(2026, 11, 21, 6, 2, 44, 900000, tzinfo=UTC),
    "location": {
        "lat": 33.6461,
        "lon": 116.9641,
        "admin_code": "341302",
        "address": None,
        "observed_at": None,
    },
    "source": "HOTEL_REGISTRATION",
    "action_taken": None,
    "details": "登记入住",
    "confirmation_requested": True,
    "priority": "IMMEDIATE",
}

RECORDS: dict[str, dict[str, Any]] = {"PersonAlert": PERSON_ALERT, "AlertHit": ALERT_HIT}


def record(event_type: str) -> dict[str, Any]:
    """A fresh deep copy of the sample record of ``event_type``, free to mutate."""
    return copy.deepcopy(RECORDS[event_type])
