"""One resolve step per component: the caller's args merged over the component's defaults, checked once.

Each component keeps, beside its `XArgs` TypedDict, one `DEFAULTS` mapping and one resolve
function that reads the args through an `ArgsReader`:

    def resolve(name: str, args: ThumbnailPipelineArgs | None) -> ResolvedThumbnailPipeline:
        r = ArgsReader("ThumbnailPipeline", name, args, ThumbnailPipelineArgs, DEFAULTS)
        return ResolvedThumbnailPipeline(quality=r.integer("quality", low=1, high=95), ...)

The reader rejects unknown keys when it is made (with the allowed ones, and the closest match),
and every check raises `ArgsError`. The error keeps the arg's path (`("cache", "ttl_seconds")`)
apart from the problem, so the stack config can name the YAML key instead
(`serverless-blueprints:todoApi.cache.ttlSeconds`), and a library user gets the same checks.
Values that are Pulumi outputs are passed through: they are checked where they resolve.
"""
import difflib
import typing
from collections.abc import Callable, Mapping
from typing import Any, Optional, TypeVar

import pulumi

T = TypeVar("T")
_MISSING: Any = object()


class ArgsError(ValueError):
    """A component arg that can't be deployed: which component, which arg, and what is allowed."""

    def __init__(self, component: str, path: tuple[str, ...], problem: str):
        self.component, self.path, self.problem = component, tuple(path), problem
        where = ".".join(str(part) for part in self.path)
        super().__init__(f"{component}: {where}: {problem}" if where else f"{component}: {problem}")

    def because(self, reason: str) -> "ArgsError":
        """The same error, with why the limit is what it is."""
        return ArgsError(self.component, self.path, f"{self.problem} ({reason})")


def arg_names(schema: type) -> tuple[list[str], list[str]]:
    """(every key, required keys) of an args TypedDict, base classes included."""
    # The annotations' names only: evaluating them (typing.get_type_hints) would trip over
    # pulumi.Input's forward reference to Output.
    keys = [key for cls in reversed(schema.__mro__) for key in getattr(cls, "__annotations__", {})]
    keys = list(dict.fromkeys(keys))
    required = sorted(getattr(schema, "__required_keys__", frozenset()))
    return keys, required


def is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


class ArgsReader:
    """Typed, checked reads of one args mapping merged over its defaults.

    `owner` names the component instance in messages ("ThumbnailPipeline photos"); `path` is the
    position of this mapping inside the component's args (empty at the top).
    """

    def __init__(self, component: str, name: str, args: Optional[Mapping[str, Any]], schema: type,
                 defaults: Optional[Mapping[str, Any]] = None, path: tuple[str, ...] = ()):
        self.owner = f"{component} {name!r}" if name else component
        self.component, self.name, self.path = component, name, tuple(path)
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise ArgsError(self.owner, self.path, f"expected a mapping of args, got {type(args).__name__}")
        allowed, required = arg_names(schema)
        for key in args:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ArgsError(self.owner, (*self.path, str(key)),
                                f"unknown arg{hint}; allowed: {', '.join(sorted(allowed))}")
        for key in required:
            if key not in args:
                raise ArgsError(self.owner, (*self.path, key), "required")
        self.args, self.defaults, self.allowed = args, dict(defaults or {}), allowed

    # --- raw access -------------------------------------------------------------------------------
    def fail(self, key: str, problem: str) -> "typing.NoReturn":
        raise ArgsError(self.owner, (*self.path, key) if key else self.path, problem)

    def given(self, key: str) -> bool:
        """Whether the caller set this arg (to anything but None)."""
        return self.args.get(key) is not None

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The caller's value, else the component default, else `default` (None if not given)."""
        if key not in self.allowed:
            raise KeyError(f"{self.component} reads {key!r}, which its args type does not declare")
        value = self.args.get(key)
        if value is None:
            value = self.defaults.get(key) if default is _MISSING else default
        return value

    # --- typed reads ------------------------------------------------------------------------------
    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {value!r}")
        return value

    def integer(self, key: str, *, low: int, high: int, default: Any = _MISSING) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            self.fail(key, f"{value} is out of range; allowed {low} to {high}")
        return value

    def optional_integer(self, key: str, *, low: int, high: int, default: Any = _MISSING) -> Optional[int]:
        return None if self.get(key, default) is None else self.integer(key, low=low, high=high, default=default)

    def number(self, key: str, *, low: float, high: float, default: Any = _MISSING) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"expected a number from {low:g} to {high:g}, got {value!r}")
        if not low <= value <= high:
            self.fail(key, f"{value:g} is out of range; allowed {low:g} to {high:g}")
        return float(value)

    def choice(self, key: str, allowed: typing.Sequence[T], default: Any = _MISSING) -> T:
        value = self.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and all(isinstance(a, str) for a in allowed):
            value = format(value, "g")  # YAML reads 0.5 as a number; the allowed values are strings
        if value not in allowed:
            self.fail(key, f"{value!r} is not allowed; allowed values: {', '.join(map(str, allowed))}")
        return value

    def string(self, key: str, *, check: Optional[Callable[[str], object]] = None, expected: str = "a string",
            default: Any = _MISSING) -> Any:
        """A string (or a Pulumi output, passed through); a non-empty `check` failure names `expected`."""
        value = self.get(key, default)
        if is_output(value):
            return value
        if not isinstance(value, str) or (check is not None and not check(value)):
            self.fail(key, f"expected {expected}, got {value!r}")
        return value

    def optional_string(self, key: str, *, check: Optional[Callable[[str], object]] = None,
                     expected: str = "a string", default: Any = _MISSING) -> Any:
        return None if self.get(key, default) is None else self.string(key, check=check, expected=expected,
                                                                    default=default)

    def strings(self, key: str, *, check: Optional[Callable[[str], object]] = None,
                 expected: str = "a list of strings", default: Any = _MISSING, min_items: int = 0,
                 max_items: int = 1000, distinct: bool = False) -> list:
        value = self.get(key, default)
        if value is None:
            value = []
        if (isinstance(value, (str, bytes)) or not isinstance(value, typing.Sequence)
                or not min_items <= len(value) <= max_items
                or (distinct and len(set(value)) != len(value))
                or not all(is_output(v) or (isinstance(v, str) and (check is None or check(v))) for v in value)):
            self.fail(key, f"expected {expected} ({min_items} to {max_items}{', distinct' if distinct else ''}), "
                           f"got {value!r}")
        return list(value)

    def integers(self, key: str, *, low: int, high: int, min_items: int = 1, max_items: int = 100,
                 default: Any = _MISSING) -> list[int]:
        """A list of distinct whole numbers, each from low to high."""
        value = self.get(key, default)
        if (isinstance(value, (str, bytes)) or not isinstance(value, typing.Sequence)
                or not min_items <= len(value) <= max_items or len(set(value)) != len(value)
                or not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value)):
            self.fail(key, f"expected {min_items} to {max_items} distinct whole numbers, each from {low} to {high}, "
                           f"got {value!r}")
        return list(value)

    def section(self, key: str, schema: type, defaults: Optional[Mapping[str, Any]] = None) -> Optional["ArgsReader"]:
        """A nested args mapping (None when the caller leaves it out or sets it to None)."""
        value = self.get(key)
        if value is None:
            return None
        return ArgsReader(self.component, self.name, value, schema, defaults, (*self.path, key))

    def input(self, key: str, default: Any = _MISSING) -> Any:
        """A value taken as it is (an output, a resource, a provider): only its presence is known here."""
        return self.get(key, default)
