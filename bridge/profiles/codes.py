"""Code tables shared by the four provinces' ICDs (../shared/icd/README.md).

Each table maps an exchange enum symbol to its local code; ``decode_code`` reverses it.
A profile whose ICD differs keeps its own table in its own module.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.errors import LocalFormatError, TranslationError

SEX = {"UNKNOWN": "0", "MALE": "1", "FEMALE": "2", "UNSPECIFIED": "9"}
PERSON_CATEGORY = {
    "WANTED": "01",
    "SUSPECT": "02",
    "MISSING": "03",
    "AT_RISK": "04",
    "WITNESS": "05",
    "DISCREET_CHECK": "06",
}
VEHICLE_CATEGORY = {
    "STOLEN": "11",
    "USED_IN_CRIME": "12",
    "HIT_AND_RUN": "13",
    "FUGITIVE_VEHICLE": "14",
    "SURVEILLANCE": "15",
}
REQUESTED_ACTION = {
    "LOCATE_AND_DETAIN": "01",
    "LOCATE_AND_REPORT": "02",
    "DISCREET_OBSERVE": "03",
    "PROTECT": "04",
}
CAUTION_FLAG = {
    "ARMED": "01",
    "VIOLENT": "02",
    "SELF_HARM": "03",
    "ESCAPE_RISK": "04",
    "MEDICAL": "05",
}
HANDLING = {"SHARE_ALL_PARTNERS": "1", "NEED_TO_KNOW": "2", "ORIGINATOR_CONTROL": "3"}
PLATE_TYPE = {
    "LARGE": "01",
    "SMALL": "02",
    "MOTORCYCLE": "07",
    "TRAILER": "15",
    "LEARNER": "16",
    "POLICE": "23",
    "LARGE_NEW_ENERGY": "51",
    "SMALL_NEW_ENERGY": "52",
    "OTHER": "99",
}
BODY_COLOUR = {
    "WHITE": "A",
    "GREY": "B",
    "YELLOW": "C",
    "PINK": "D",
    "RED": "E",
    "PURPLE": "F",
    "GREEN": "G",
    "BLUE": "H",
    "BROWN": "I",
    "BLACK": "J",
    "OTHER": "Z",
}
MESSAGE_TYPE = {
    "PersonAlert": "RYBK",
    "VehicleAlert": "CLBK",
    "AlertStatusChange": "BKZT",
    "AlertHit": "BZFK",
    "HitConfirmation": "BZQR",
    "AssistanceRequest": "XCQQ",
    "AssistanceResponse": "XCHF",
}
# Codes used by the Jiangsu and Henan ICDs for the remaining enums.
ALERT_KIND = {"PERSON": "RY", "VEHICLE": "CL"}
ALERT_STATUS = {"WITHDRAWN": "CX", "RESOLVED": "JC", "EXPIRED": "GQ"}
HIT_SOURCE = {
    "CHECKPOINT_CAMERA": "KK",
    "PATROL": "XL",
    "HOTEL_REGISTRATION": "LG",
    "TRANSPORT_TICKET": "PJ",
    "OTHER": "QT",
}
PRIORITY = {"IMMEDIATE": "1", "URGENT": "2", "ROUTINE": "3"}
HIT_RESULT = {"CONFIRMED": "1", "NOT_VALID": "2", "NEED_MORE_INFO": "3"}
ASSISTANCE_TYPE = {
    "LOCATE_PERSON": "01",
    "VERIFY_IDENTITY": "02",
    "VEHICLE_TRACE": "03",
    "RECORDS_CHECK": "04",
    "EVIDENCE_COLLECTION": "05",
    "WITNESS_INTERVIEW": "06",
    "ARREST_ASSISTANCE": "07",
    "JOINT_OPERATION": "08",
}
ASSISTANCE_STATUS = {
    "ACKNOWLEDGED": "01",
    "ACCEPTED": "02",
    "DECLINED": "03",
    "IN_PROGRESS": "04",
    "INFORMATION_PROVIDED": "05",
    "COMPLETED": "06",
}


def encode_code(table: Mapping[str, str], symbol: str, path: str) -> str:
    """Local code of an exchange symbol; TranslationError naming the field when none exists."""
    try:
        return table[symbol]
    except KeyError:
        raise TranslationError(f"{path}: {symbol} has no code in this local format") from None


def decode_code(table: Mapping[str, str], code: str, path: str) -> str:
    """Exchange symbol of a local code; LocalFormatError naming the field when unknown."""
    for symbol, local in table.items():
        if local == code:
            return symbol
    raise LocalFormatError(f"{path}: not a code of this local format")
