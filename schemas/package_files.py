"""Files shipped inside the installed packages (the default agreement, the Avro schemas,
the Shandong XSD), found with ``importlib.resources``.

Never a path relative to the repository: an installed wheel has no repository around it.
The files are read by path (``tomllib``, fastavro and libxml2 take paths, and the catalog
walks folders), so a package must be installed as files on disk; a zipped install is a
ConfigError that says so instead of a confusing "file not found" later.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from schemas.errors import ConfigError


def package_file(package: str, *parts: str) -> Path:
    """The path of ``parts`` inside the installed ``package`` (a file or a folder)."""
    resource = files(package).joinpath(*parts)
    if not isinstance(resource, Path):
        raise ConfigError(
            f"{package}/{'/'.join(parts)} is inside a zipped install: install hxbus as files "
            "(pip install, not a zipapp or an egg)"
        )
    return resource
