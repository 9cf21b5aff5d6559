"""Request body parsing."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


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
    so they would otherwise surface as a 500 at write time."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise ParseError("Strings cannot contain NUL (\\u0000) characters.")
        return data
