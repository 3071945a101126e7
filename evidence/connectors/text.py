"""Small text helpers shared by connectors: offset conversion, HTML to text, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from evidence.connectors.base import RecordError


def utf8_to_index(text: str, byte_offset: int) -> int:
    """The code-point index in ``text`` of a UTF-8 byte offset (Bluesky facets)."""
    encoded = text.encode("utf-8")
    if not 0 <= byte_offset <= len(encoded):
        raise RecordError(f"byte offset {byte_offset} outside text of {len(encoded)} bytes")
    return len(encoded[:byte_offset].decode("utf-8", "ignore"))


def utf16_to_index(text: str, unit_offset: int) -> int:
    """The code-point index in ``text`` of a UTF-16 code-unit offset (Facebook message_tags)."""
    encoded = text.encode("utf-16-le")
    if not 0 <= unit_offset * 2 <= len(encoded):
        raise RecordError(f"UTF-16 offset {unit_offset} outside text of {len(encoded) // 2} units")
    return len(encoded[: unit_offset * 2].decode("utf-16-le", "ignore"))


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "li", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a Mastodon status's HTML content (paragraphs and breaks become newlines)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def parse_time(value: Any, field: str = "created_at") -> datetime:
    """An aware UTC datetime from ISO-8601 (with ``Z`` or ``+0000``); RecordError if not one."""
    if not isinstance(value, str) or not value:
        raise RecordError(f"{field} missing or not a string")
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Graph API's +0000
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RecordError(f"{field} is not an ISO-8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise RecordError(f"{field} has no time zone: {value!r}")
    return moment.astimezone(UTC)


def iso(moment: datetime, millis: bool = False) -> str:
    """RFC 3339 in UTC with a Z, the form the platforms' query parameters expect."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def require_str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(f"'{key}' missing or not a non-empty string")
    return value


def as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not a JSON object")
    return value


def sub(item: dict[str, Any], key: str) -> dict[str, Any]:
    """``item[key]`` if it is an object, else an empty one (for optional nested fields)."""
    value = item.get(key)
    return value if isinstance(value, dict) else {}
