"""The rules a bureau relies on, as pure functions.

Each returns the normalised value or raises ``ValueError`` whose message states the rule
in words a duty officer understands (the models add the field path).
"""

from schemas.rules.admin_code import (
    CHINA_LATITUDE,
    CHINA_LONGITUDE,
    check_latitude,
    check_longitude,
    normalise_admin_code,
)
from schemas.rules.identity import (
    birth_date_of,
    check_character,
    is_male,
    make_identity_number,
    normalise_id_number,
)
from schemas.rules.plate import (
    ALL_AUTHORITY_LETTERS,
    PROVINCE_CHARACTERS,
    check_plate_type,
    clean_plate_number,
    local_plate_agency,
    normalise_plate,
    normalise_plate_number,
)
from schemas.rules.vin import check_digit, make_vin, normalise_vin

__all__ = [
    "ALL_AUTHORITY_LETTERS",
    "CHINA_LATITUDE",
    "CHINA_LONGITUDE",
    "PROVINCE_CHARACTERS",
    "birth_date_of",
    "check_character",
    "check_digit",
    "check_latitude",
    "check_longitude",
    "check_plate_type",
    "clean_plate_number",
    "is_male",
    "local_plate_agency",
    "make_identity_number",
    "make_vin",
    "normalise_admin_code",
    "normalise_id_number",
    "normalise_plate",
    "normalise_plate_number",
    "normalise_vin",
]
