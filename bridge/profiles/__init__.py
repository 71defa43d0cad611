"""Province profiles: the mapping of each exchange event type to one local layout.

``PROFILES`` is the registry: the agreement's ``[provinces.X] format`` value names the
profile class. A new province's profile is one module here and one line in that dict.
"""

from bridge.profiles.anhui import AnhuiProfile
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.henan import HenanProfile
from bridge.profiles.jiangsu import JiangsuProfile
from bridge.profiles.shandong import ShandongProfile
from schemas import Agreement
from schemas.errors import ConfigError

#: Profile classes by registry name (``Profile.name``, the agreement's ``format``).
PROFILES: dict[str, type[Profile]] = {
    "anhui": AnhuiProfile,
    "henan": HenanProfile,
    "jiangsu": JiangsuProfile,
    "shandong": ShandongProfile,
}


def get_profile(name: str, agreement: Agreement | None = None) -> Profile:
    """The profile called ``name``, built for ``agreement``; ConfigError naming the known ones."""
    try:
        profile_class = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"no bridge profile called {name!r} (known: {known})") from None
    return profile_class(agreement)


__all__ = [
    "PROFILES",
    "AnhuiProfile",
    "HenanProfile",
    "JiangsuProfile",
    "LocalMessage",
    "ParsedLocal",
    "Profile",
    "ShandongProfile",
    "get_profile",
]
