"""The hxbus command line (the top of the import graph: contract ← runtime ← roles ← cli)."""

__all__: list[str] = []
