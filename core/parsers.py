"""Request body parsing."""

import datetime
import math

import yaml
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from core.errors import PayloadTooLarge
from core.nesting import NestedTooDeep, nesting_check, nesting_limit


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser (which already refuses NaN and Infinity), also
    refusing NUL characters: PostgreSQL cannot store them in text or jsonb,
    so they would otherwise surface as a 500 at write time; and documents
    nested deeper than ``AGENTRY_MAX_JSON_DEPTH`` (see ``core.nesting``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = nesting_check(super().parse(stream, media_type, parser_context))
        except RecursionError:  # the decoder's own, long past the limit
            raise ParseError(f"JSON {NestedTooDeep(nesting_limit())}.") from None
        except NestedTooDeep as exc:
            raise ParseError(f"JSON {exc}.") from None
        if _has_nul(data):
            raise ParseError("Strings cannot contain NUL (\\u0000) characters.")
        return data


# --- YAML ---------------------------------------------------------------------


class _NoAliasSafeLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses aliases (``*name``): a few hundred bytes
    of nested aliases can stand for a document of billions of nodes (the
    "billion laughs"), which would blow up the first walk over the data."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"YAML aliases (*name) are not allowed (line {mark.line + 1}).")
        return super().compose_node(parent, index)


def _json_compatible(value, path: str = "$"):
    """What YAML built, as JSON data: dates become ISO strings; keys must be
    strings; NaN, infinities, binary, sets and NUL characters are refused."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ParseError(f"{path}: strings cannot contain NUL characters.")
        return value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError(f"{path}: NaN and infinities are not allowed.")
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_compatible(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ParseError(f"{path}: keys must be strings; quote {key!r}.")
            result[_json_compatible(key, path)] = _json_compatible(item, f"{path}.{key}")
        return result
    raise ParseError(f"{path}: values of type {type(value).__name__} are not allowed.")


def yaml_load(text: str):
    """One YAML document as JSON data, parsed safely (no Python tags, no
    aliases); any problem is a ``ParseError``."""
    try:
        data = nesting_check(yaml.load(text, Loader=_NoAliasSafeLoader))
    except yaml.YAMLError as exc:
        raise ParseError(f"Invalid YAML: {exc}")
    except RecursionError:  # the composer's own, long past the limit
        raise ParseError(f"Invalid YAML: {NestedTooDeep(nesting_limit())}.") from None
    except NestedTooDeep as exc:
        raise ParseError(f"Invalid YAML: {exc}.") from None
    return _json_compatible(data)


class YAMLParser(BaseParser):
    """YAML bodies (agent import).  The body is read only up to
    ``AGENTRY_MAX_REQUEST_BYTES``, whatever Content-Length claims."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.AGENTRY_MAX_REQUEST_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than the {limit} bytes allowed.")
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"The body is not valid {encoding}: {exc}")
        return yaml_load(text)


class XYAMLParser(YAMLParser):
    media_type = "application/x-yaml"


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"


YAML_PARSERS = (YAMLParser, XYAMLParser, TextYAMLParser)
