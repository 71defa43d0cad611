"""Province profiles: the mapping of each exchange event type to one local layout.

The agreement's ``[provinces.X] profile`` names the profile class: a name of ``PROFILES``
(the profiles hxbus ships), or ``module:Class`` for a profile that lives outside hxbus
(a new partner's before it joins this package, or a test's), imported when a bridge or
``hxbus bridge translate`` starts. The agreement is as trusted as the code it names
(docs/security.md). CONTRIBUTING.md, "Add a province", is the recipe.
"""

import importlib

from bridge.profiles.anhui import AnhuiProfile
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.henan import HenanProfile
from bridge.profiles.jiangsu import JiangsuProfile
from bridge.profiles.shandong import ShandongProfile
from schemas import Agreement
from schemas.errors import ConfigError

#: Profile classes by registry name (``Profile.name``, the agreement's ``profile``).
PROFILES: dict[str, type[Profile]] = {
    "anhui": AnhuiProfile,
    "henan": HenanProfile,
    "jiangsu": JiangsuProfile,
    "shandong": ShandongProfile,
}


def get_profile(name: str, agreement: Agreement | None = None) -> Profile:
    """The profile ``name`` (a ``PROFILES`` name or ``module:Class``), built for
    ``agreement``; ConfigError naming the profile and what is wrong with it."""
    if ":" in name:
        return _imported_profile(name)(agreement)
    try:
        profile_class = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(
            f"profile: no bridge profile called {name!r} (known: {known}; or module:Class)"
        ) from None
    return profile_class(agreement)


def _imported_profile(name: str) -> type[Profile]:
    module_name, _, class_name = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"profile: {name!r}: module {module_name} cannot be imported ({exc}); "
            "is it on the Python path?"
        ) from None
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Profile)):
        raise ConfigError(
            f"profile: {name!r}: {module_name} has no class {class_name} that implements "
            "bridge.profiles.Profile"
        )
    return found


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
