"""Bytes to text: size limit, empty and binary files, BOMs, UTF-8, UTF-16 and the Windows-1252 fallback.

Dumps are saved by people with whatever tool was at hand, so the encoding is guessed from the bytes, never
trusted from a declaration. Anything that is not text stops here with a message saying where it went wrong.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from papers.parsers.base import DumpParseError

_MB = 1024 * 1024
# C0 controls other than tab, line feed, vertical tab, form feed and carriage return never occur in text.
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Enough of the file to tell UTF-16 from binary: a few thousand characters of text are unambiguous.
_UTF16_SAMPLE_BYTES = 4096
# UTF-16 text that is mostly ASCII has a NUL in nearly every other byte and almost none in the others.
_UTF16_NUL_SHARE = 0.7
_UTF16_STRAY_NUL_SHARE = 0.1
# Typical UTF-8-read-as-Windows-1252 sequences: "Ã©" for "é", "â€“" for "–".
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]|â€|Ã[\u0080-\u00ff]")


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_dump(*, data: bytes, max_bytes: int) -> DecodedText:
    """Decode a dump's bytes, or raise `DumpParseError` saying why it is not a text file."""
    if len(data) > max_bytes:
        raise DumpParseError(f"file is {len(data) / _MB:.1f} MB; the limit is {max_bytes / _MB:.1f} MB")
    if not data:
        raise DumpParseError("file is empty; expected a daily papers dump")
    decoded = _decode_by_bom(data=data) or _decode_utf16_without_bom(data=data) or _decode_8bit(data=data)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise DumpParseError("file holds only whitespace; expected a daily papers dump")
    return DecodedText(text=text, encoding=decoded.encoding, warnings=decoded.warnings)


def _decode_by_bom(*, data: bytes) -> DecodedText | None:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return _decode_strict(data=data[len(bom) :], encoding=encoding, offset=len(bom))
    return None


def _decode_utf16_without_bom(*, data: bytes) -> DecodedText | None:
    sample = data[:_UTF16_SAMPLE_BYTES]
    pairs = len(sample) // 2
    if pairs == 0 or len(data) % 2 or b"\x00" not in sample:
        return None
    nul_even = sum(1 for i in range(0, 2 * pairs, 2) if sample[i] == 0) / pairs
    nul_odd = sum(1 for i in range(1, 2 * pairs, 2) if sample[i] == 0) / pairs
    if nul_odd >= _UTF16_NUL_SHARE and nul_even <= _UTF16_STRAY_NUL_SHARE:
        return _decode_strict(data=data, encoding="utf-16-le", offset=0)
    if nul_even >= _UTF16_NUL_SHARE and nul_odd <= _UTF16_STRAY_NUL_SHARE:
        return _decode_strict(data=data, encoding="utf-16-be", offset=0)
    return None


def _decode_strict(*, data: bytes, encoding: str, offset: int) -> DecodedText:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DumpParseError(
            f"not valid {encoding.upper()} although the file starts like it; expected a text dump",
            location=f"byte {offset + exc.start}",
        ) from None
    control = _CONTROL_CHAR.search(text)
    if control:
        raise DumpParseError(
            f"binary file: control character {ord(control.group()):#04x} in {encoding.upper()} text; "
            "expected a text, JSON, XML or HTML dump",
            location=f"character {control.start()}",
        )
    return DecodedText(text=text, encoding=encoding)


def _decode_8bit(*, data: bytes) -> DecodedText:
    binary = _BINARY_BYTE.search(data)
    if binary:
        raise DumpParseError(
            f"binary file: byte {binary.group()[0]:#04x} is not text; expected a text, JSON, XML or HTML dump",
            location=f"byte {binary.start()}",
        )
    try:
        return _repair_mojibake(text=data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # Windows-1252 leaves five bytes undefined; Latin-1 maps every byte, so it is the last resort.
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warning = f"byte {first_bad}: not valid UTF-8; read the file as {encoding.upper()}"
        return DecodedText(text=text, encoding=encoding, warnings=(warning,))
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _repair_mojibake(*, text: str) -> DecodedText:
    """Undo UTF-8 that was once read as Windows-1252 and saved again ("Ã©" for "é").

    Only a file that round-trips completely is repaired, so real text that merely contains "Ã" is kept.
    """
    # Substring checks first: they are C-fast, and the regex is only needed when one of them hits.
    if not any(marker in text for marker in ("Ã", "Â", "â€")) or not _MOJIBAKE.search(text):
        return DecodedText(text=text, encoding="utf-8")
    try:
        repaired = text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return DecodedText(text=text, encoding="utf-8")
    warning = "text was UTF-8 read as Windows-1252 and saved again; repaired"
    return DecodedText(text=repaired, encoding="utf-8", warnings=(warning,))
