"""Things by name as "module:attribute" strings, imported on first use: listing a registry's names costs
no import, so the CLI can show task families and model backends without loading torch."""

from __future__ import annotations

import importlib

from vlmteach.errors import VlmteachError

TYPE_CHECKING = False  # not typing's: the CLI imports this module, and `typing` alone costs it ~0.5 MB
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def resolve(target: str) -> Any:
    """The object a "module:attribute" string names, importing the module if it is not loaded yet."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry:
    """Names mapped to "module:attribute" targets, in registration order. `get` imports a target on first
    use; an unknown name raises `error` ("unknown WHAT 'x'; known: a, b") listing the registered ones."""

    def __init__(self, what: str, targets: dict[str, str], error: type[Exception] = VlmteachError) -> None:
        self.what, self.targets, self.error = what, targets, error

    def names(self) -> list[str]:
        return list(self.targets)

    def __contains__(self, name: object) -> bool:
        return name in self.targets

    def register(self, name: str, target: str) -> None:
        """Add (or replace) the entry `name`; `target` is "module:attribute", imported when first used."""
        module, sep, attribute = target.partition(":")
        if not (module and sep and attribute):
            raise VlmteachError(f"{self.what} {name!r}: target {target!r} is not 'module:attribute'")
        self.targets[name] = target

    def get(self, name: str) -> Any:
        """The object registered as `name` (imported now if it was not yet)."""
        if name not in self.targets:
            raise self.error(f"unknown {self.what} {name!r}; known: {', '.join(self.targets)}")
        return resolve(self.targets[name])


def lazy_attributes(package: str, targets: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `targets` ("name": "module:attribute") on first access, so a
    package can re-export classes whose modules need torch while importing it stays light."""

    def __getattr__(name: str) -> Any:
        if name in targets:
            return resolve(targets[name])
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
