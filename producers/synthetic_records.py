"""Believable records for synthetic traffic: people, vehicles, places, contacts, texts.

Everything here draws from one ``random.Random`` passed in, so a seed fixes every byte.
The vocabulary is small on purpose (a handful of common surnames and given names, eight
car makes, two districts per city): the point is records that pass the contract's rules
and look like a duty desk's, including the hard cases the bridges must survive — a name
with 𠮷 (U+20BB7, four bytes in GB18030 and UTF-8), new-energy plates, coordinates in
the right city, identity numbers whose region, birth date and sex agree.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from schemas import Agency
from schemas.rules import make_identity_number, make_vin

# -- places -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class City:
    """Where an agency is: centre (WGS-84), two county-level codes, telephone area code."""

    lat: float
    lon: float
    districts: tuple[tuple[str, str], ...]  # (GB/T 2260 code, name)
    area_code: str


CITIES: dict[str, City] = {
    "320300": City(34.205, 117.284, (("320302", "鼓楼区"), ("320311", "泉山区")), "0516"),
    "320700": City(34.597, 119.222, (("320703", "连云区"), ("320707", "赣榆区")), "0518"),
    "321300": City(33.963, 118.275, (("321302", "宿城区"), ("321311", "宿豫区")), "0527"),
    "370400": City(34.810, 117.323, (("370402", "市中区"), ("370481", "滕州市")), "0632"),
    "370800": City(35.415, 116.587, (("370811", "任城区"), ("370881", "曲阜市")), "0537"),
    "371300": City(35.105, 118.356, (("371302", "兰山区"), ("371311", "罗庄区")), "0539"),
    "371700": City(35.233, 115.481, (("371702", "牡丹区"), ("371721", "曹县")), "0530"),
    "411400": City(34.414, 115.656, (("411402", "梁园区"), ("411403", "睢阳区")), "0370"),
    "340600": City(33.955, 116.798, (("340602", "杜集区"), ("340603", "相山区")), "0561"),
    "341300": City(33.647, 116.984, (("341302", "埇桥区"), ("341321", "砀山县")), "0557"),
}


def city_of(agency: Agency) -> City:
    """The agency's city; an agency the table lacks gets its own code and a Huaihai centre."""
    known = CITIES.get(agency.admin_code)
    if known is not None:
        return known
    return City(34.3, 117.2, ((agency.admin_code, agency.city_zh),), "0000")


STREETS = ("解放路", "人民路", "建设路", "中山路", "淮海路", "和平路", "新华路", "光明路")


def location(rng: random.Random, agency: Agency, observed_at: datetime | None) -> dict[str, Any]:
    """A point within ~10 km of the agency's city centre, with its district and an address."""
    city = city_of(agency)
    code, district = rng.choice(city.districts)
    street = f"{agency.city_zh}市{district}{rng.choice(STREETS)}{rng.randint(1, 399)}号"
    return {
        "lat": round(city.lat + rng.uniform(-0.09, 0.09), 6),
        "lon": round(city.lon + rng.uniform(-0.09, 0.09), 6),
        "admin_code": code,
        "address": street,
        "observed_at": observed_at,
    }


def contact(rng: random.Random, agency: Agency, unit: str = "刑事侦查支队") -> dict[str, Any]:
    city = city_of(agency)
    surname, _ = rng.choice(SURNAMES)
    given, _ = rng.choice(GIVEN_NAMES)
    return {
        "unit": f"{agency.city_zh}市公安局{unit}",
        "officer": surname + given,
        "phone": f"{city.area_code}-8{rng.randint(0, 9_999_999):07d}",
    }


# -- people -----------------------------------------------------------------------------

#: (hanzi, pinyin). 𠮷 is a real surname character outside the BMP: the 4-byte test case.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"),
    ("徐", "Xu"), ("孙", "Sun"), ("孔", "Kong"), ("𠮷", "Ji"),
)  # fmt: skip
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"),
    ("磊", "Lei"), ("强", "Qiang"), ("洋", "Yang"), ("艳", "Yan"), ("勇", "Yong"),
    ("军", "Jun"), ("杰", "Jie"), ("秀英", "Xiuying"), ("建华", "Jianhua"),
    ("志强", "Zhiqiang"), ("海燕", "Haiyan"),
)  # fmt: skip

PERSON_CATEGORIES = (
    ("WANTED", 30, "LOCATE_AND_DETAIN", "涉嫌故意伤害罪，案发后潜逃"),
    ("SUSPECT", 25, "LOCATE_AND_REPORT", "涉嫌参与电信网络诈骗，需查明行踪"),
    ("MISSING", 15, "LOCATE_AND_REPORT", "家属报案称其离家未归，至今下落不明"),
    ("AT_RISK", 10, "PROTECT", "有自伤倾向，家属请求协助寻找并保护"),
    ("WITNESS", 5, "LOCATE_AND_REPORT", "系重要案件证人，需联系取证"),
    ("DISCREET_CHECK", 15, "DISCREET_OBSERVE", "与在侦案件有关联，需秘密核查"),
)
CAUTION_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "WANTED": ("ARMED", "VIOLENT", "ESCAPE_RISK"),
    "SUSPECT": ("ESCAPE_RISK",),
    "AT_RISK": ("SELF_HARM", "MEDICAL"),
    "MISSING": ("MEDICAL",),
}
LEGAL_BASIS = {
    "LOCATE_AND_DETAIN": "《中华人民共和国刑事诉讼法》第一百五十五条（通缉）",
    "LOCATE_AND_REPORT": "《公安机关办理刑事案件程序规定》第二百七十四条",
    "DISCREET_OBSERVE": "《公安机关办理刑事案件程序规定》第一百九十一条",
    "PROTECT": "《中华人民共和国人民警察法》第二十一条",
}


def person_subject(rng: random.Random, agency: Agency, today: date) -> dict[str, Any]:
    """A subject whose identity number's region, birth date and sex agree with the fields."""
    surname, surname_py = rng.choice(SURNAMES)
    given, given_py = rng.choice(GIVEN_NAMES)
    born = today - timedelta(days=rng.randint(16 * 365, 70 * 365))
    male = rng.random() < 0.65
    sequence = rng.randrange(1 if male else 0, 1000, 2)
    region, _ = rng.choice(city_of(agency).districts)
    return {
        "name": surname + given,
        "name_pinyin": f"{surname_py} {given_py}",
        "aliases": [f"{given}仔"] if rng.random() < 0.1 else [],
        "sex": "MALE" if male else "FEMALE",
        "birth_date": born,
        "id_number": make_identity_number(region, born, sequence),
        "nationality": "CHN",
        "height_cm": rng.randint(165, 185) if male else rng.randint(152, 172),
        "description": rng.choice(
            ("短发，体型偏瘦", "戴眼镜，左臂有纹身", "中等身材，口音为本地口音")
        ),
        "photos": [],
    }


# -- vehicles ---------------------------------------------------------------------------

#: (make, model, world manufacturer identifier + 5 VDS characters, new energy?)
VEHICLES = (
    ("大众", "朗逸", "LSVAU2A3", False),
    ("丰田", "卡罗拉", "LVGBE40K", False),
    ("本田", "雅阁", "LHGCV164", False),
    ("比亚迪", "秦PLUS", "LGXCE4CB", True),
    ("五菱", "宏光MINIEV", "LZWADAGA", True),
    ("别克", "英朗", "LSGKB54H", False),
    ("吉利", "帝豪", "L6T7844S", False),
    ("长城", "哈弗H6", "LGWEF4A5", False),
)
VEHICLE_CATEGORIES = (
    ("STOLEN", 40, "LOCATE_AND_REPORT", "车辆被盗，车主报案"),
    ("USED_IN_CRIME", 25, "LOCATE_AND_DETAIN", "该车系作案用车"),
    ("HIT_AND_RUN", 15, "LOCATE_AND_DETAIN", "交通肇事后驾车逃逸"),
    ("FUGITIVE_VEHICLE", 10, "LOCATE_AND_DETAIN", "在逃人员驾驶车辆"),
    ("SURVEILLANCE", 10, "DISCREET_OBSERVE", "涉案车辆，需秘密跟踪其行驶轨迹"),
)
BODY_COLOURS = ("WHITE", "BLACK", "GREY", "BLUE", "RED", "BROWN", "GREEN", "OTHER")
SERIAL_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
YEAR_LETTERS = "HJKLMNPR"  # model years 2017…2024


def vehicle(rng: random.Random, agency: Agency) -> dict[str, Any]:
    """Plate of the agency's prefix (ordinary or new-energy), a valid VIN, make and colour."""
    make, model, vin_prefix, new_energy = rng.choice(VEHICLES)
    if new_energy:
        serial = rng.choice("DF") + rng.choice(SERIAL_CHARACTERS) + f"{rng.randrange(10_000):04d}"
        plate = {"number": agency.plate_prefix + serial, "type": "SMALL_NEW_ENERGY"}
    else:
        serial = "".join(rng.choice(SERIAL_CHARACTERS) for _ in range(5))
        plate_type = "LARGE" if rng.random() < 0.1 else "SMALL"
        plate = {"number": agency.plate_prefix + serial, "type": plate_type}
    vin_serial = rng.choice(YEAR_LETTERS) + rng.choice("123456") + f"{rng.randrange(10**6):06d}"
    return {
        "plate": plate,
        "vin": make_vin(vin_prefix, vin_serial),
        "make": make,
        "model": model,
        "body_colour": rng.choice(BODY_COLOURS),
    }


# -- small helpers ----------------------------------------------------------------------


def weighted(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """One row of ``table``, whose second column is the row's weight."""
    return rng.choices(table, weights=[row[1] for row in table])[0]


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 uuid drawn from ``rng``: same seed, same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def traceparent(rng: random.Random) -> str:
    """A W3C traceparent with ids drawn from ``rng``, sampled."""
    return f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64) or 1:016x}-01"


def case_ref(rng: random.Random, agency: Agency, year: int) -> str:
    return f"{agency.admin_code}-{year}-{rng.randrange(100_000):05d}"
