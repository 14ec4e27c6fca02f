"""The platform table: one `Platform` registration per social platform.

Every list of platforms — the type keys `posts` accepts, the source configs `config`
parses, the extractor `features` runs, the sources `components` builds, the CLI's
``--platform`` choices — is derived from this table, so a new platform is one
registration (docs/platforms.md). A registration is plain data: its identity function
is a small pure function beside it, and the parts that live in upper layers (feature
extractor, source config class, source class) are named as ``"module:attribute"``
and imported where they are first used, so the table imports nothing and every layer
may read it.

The table is read once, when `posts` is imported: `register` after that is an error,
as the derived lists would silently miss the platform.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Identity = Callable[[dict[str, Any], dict[str, Any]], tuple[Any, Any, Any]]
"""(payload, item) -> (item id, publisher id, created time), each raw and maybe None."""

Fields = Mapping[str, "Fields | None"]
"""The keys an identity function reads, as a tree: None for a value it reads whole, a
mapping for an object of which it reads only those keys (`Platform.identity_fields`)."""

NAME = re.compile(r"^[a-z][a-z0-9]*$")  # a platform name or type key: a config tag, a column


class PlatformError(ValueError):
    """A registration is wrong, or names a part that cannot be imported."""


@dataclass(frozen=True, slots=True)
class Platform:
    """One social platform: what its items are called and the code that handles them.

    `name` is the platform as the warehouse, reports and ``--platform`` know it, and
    the ``type`` of its live source's config; `type_key` is its items' type key in the
    streamable object (``{"tweet": {...}}``). `extractor`, `source_config` and `source`
    are ``"module:attribute"`` references; `secrets` are the source config's settings
    holding secrets, revealed when the source is built and passed to `source` under
    the same names.

    `identity_fields` lists every payload key `identity` reads (`item_fields`: every
    top-level key), so that an item stored as JSON text can be described by decoding
    those alone (`shoot2top.encoded`); None: such items are decoded whole. A key
    missing here would give stored items a different identity: tests/test_encoded.py
    checks that the two readings agree on every item shape.
    """

    name: str
    type_key: str
    identity: Identity
    extractor: str  # (payload, features, publisher id, item) -> None: fills `Features`
    source_config: str  # a `config.Strict` model whose `type` is Literal[name]
    source: str  # a `sources.base.Source`: (config, **secrets, resume=, dead_letters=)
    secrets: tuple[str, ...] = ()
    identity_fields: Fields | None = None
    item_fields: Fields = field(default_factory=dict)
    _resolved: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for what, value in (("name", self.name), ("type_key", self.type_key)):
            if not NAME.match(value):
                raise PlatformError(
                    f"platform {self.name!r}: {what} {value!r} must be lowercase letters and "
                    "digits, starting with a letter"
                )
        for what in ("extractor", "source_config", "source"):
            reference = getattr(self, what)
            module, colon, attribute = reference.partition(":")
            if not (module and colon and attribute.isidentifier()):
                raise PlatformError(
                    f"platform {self.name!r}: {what} {reference!r} must be 'module:attribute'"
                )

    def resolve(self, what: str) -> Any:
        """The object a reference (``"extractor"``, ``"source_config"``, ``"source"``)
        names, imported on first use; `PlatformError` names the platform and reference."""
        found = self._resolved.get(what)
        if found is None:
            reference = getattr(self, what)
            module, _, attribute = reference.partition(":")
            try:
                found = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as error:
                raise PlatformError(
                    f"platform {self.name!r}: {what} {reference!r} cannot be imported: {error}"
                ) from error
            self._resolved[what] = found
        return found


_TABLE: dict[str, Platform] = {}
_read_by: list[str] = []  # who read the table first: registering after that is refused


def register(platform: Platform) -> Platform:
    """Add a platform to the table; its name and type key must be new."""
    if _read_by:
        raise PlatformError(
            f"platform {platform.name!r} registered after the platform table was read "
            f"({_read_by[0]}): register platforms before importing shoot2top.posts"
        )
    for other in _TABLE.values():
        if platform.name == other.name or platform.type_key == other.type_key:
            raise PlatformError(
                f"platform {platform.name!r} (type key {platform.type_key!r}) clashes with "
                f"platform {other.name!r} (type key {other.type_key!r})"
            )
    _TABLE[platform.name] = platform
    return platform


def registered(reader: str) -> tuple[Platform, ...]:
    """Every platform in registration order; from now on the table is fixed. `reader`
    names the module deriving its lists from it (in the error of a late `register`)."""
    if not _read_by:
        _read_by.append(reader)
    return tuple(_TABLE.values())


def by_name(name: str) -> Platform:
    """The platform called `name` (``"x"``); `PlatformError` lists the known ones."""
    platform = _TABLE.get(name)
    if platform is None:
        raise PlatformError(f"unknown platform {name!r}: expected one of {', '.join(_TABLE)}")
    return platform
