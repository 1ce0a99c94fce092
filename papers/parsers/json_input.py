"""Reading JSON dumps: decode errors with a line and column, and field access that names what was expected."""

from __future__ import annotations

import json
from collections.abc import Mapping

from papers.parsers.base import DumpParseError

# Far more than any count a source reports; int() itself refuses strings of over 4,300 digits.
_MAX_DIGITS = 18


def load_json(*, text: str, what: str = "JSON") -> object:
    """Parse `text`; every failure (bad syntax, cut-off file, absurd nesting) becomes `DumpParseError`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # An unterminated string runs to the end of the file, so it too means the file was cut off.
        cut_off = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = "the file ends too early (truncated?)" if cut_off else f"expected valid {what}"
        raise DumpParseError(f"{exc.msg}; {hint}", location=f"line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        # The C decoder recurses once per nested array/object; a hostile file can nest 100k deep.
        raise DumpParseError(f"{what} is nested too deeply; expected a list of papers") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python will convert
        raise DumpParseError(f"{exc}; expected valid {what}") from None


def type_name(value: object) -> str:
    """How a person would describe the JSON type of `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def optional_str(*, obj: Mapping[str, object], key: str, where: str, path: str) -> str | None:
    """`obj[key]` if it is a string, None if missing or null; any other type is an error at `where`."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DumpParseError(f"{path} is {type_name(value)}; expected a string", location=where)


def optional_int(*, obj: Mapping[str, object], key: str, where: str, path: str) -> int | None:
    """`obj[key]` as a whole number (digit strings too), None if missing, null or "-"."""
    value = obj.get(key)
    if value is None or value == "-":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # isdecimal, not isdigit: int() refuses "²"; and a bounded length, since int() refuses 4,300+ digits.
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= _MAX_DIGITS:
        return int(value.strip())
    raise DumpParseError(f"{path} is {value!r:.40}; expected a whole number", location=where)


def optional_object(*, obj: Mapping[str, object], key: str, where: str, path: str) -> dict[str, object]:
    """`obj[key]` if it is an object, {} if missing or null; any other type is an error at `where`."""
    value = obj.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise DumpParseError(f"{path} is {type_name(value)}; expected an object", location=where)


def optional_list(*, obj: Mapping[str, object], key: str, where: str, path: str) -> list[object]:
    """`obj[key]` if it is a list, [] if missing or null; any other type is an error at `where`."""
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise DumpParseError(f"{path} is {type_name(value)}; expected a list", location=where)
