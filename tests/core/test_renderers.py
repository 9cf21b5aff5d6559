"""The orjson renderer writes what DRF's JSON renderer writes."""

import decimal
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from core.renderers import JSONRenderer, JSONText

CASES = {
    "plain": {"data": [{"id": 1, "name": "Bot", "ok": True, "none": None, "ratio": 0.25}], "meta": {"total": 1}},
    "unicode": {"text": "héllo ☃ 日本", "separators": "a\u2028b\u2029c", "quote": 'say "hi"\n\t\\'},
    "datetimes": {"utc": datetime(2026, 12, 2, 19, 45, 7, 123456, tzinfo=UTC),
                  "whole": datetime(2026, 12, 2, 19, 45, tzinfo=UTC),
                  "offset": datetime(2026, 12, 2, 19, 45, tzinfo=timezone(timedelta(hours=5, minutes=30))),
                  "day": date(2026, 12, 2)},
    "other types": {"uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "decimal": decimal.Decimal("1.5"),
                    "lazy": gettext_lazy("Not found."), "tuple": (1, 2), "int keys": {1: "a"}},
    "nested": {"a": {"b": {"c": [1, [2, [3, {"d": []}]]]}}},
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_the_bytes_are_drf_s(data):
    assert JSONRenderer().render(data) == DrfJSONRenderer().render(data)


def test_indented_output_is_drf_s():
    data = {"a": [1, {"b": 2}]}
    rendered = JSONRenderer().render(data, "application/json; indent=2")
    assert rendered == DrfJSONRenderer().render(data, "application/json; indent=2")
    assert b"\n  " in rendered


def test_an_integer_beyond_64_bits_is_written_too():
    assert JSONRenderer().render({"n": 2 ** 70}) == b'{"n":1180591620717411303424}'


def test_no_data_is_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_json_text_is_written_as_it_is():
    page = JSONText.array(['{"id": 1, "name": "a\u2028b"}', '{"id":2}'])
    assert JSONRenderer().render({"data": page, "meta": {"total": 2}}) == (
        b'{"data":[{"id": 1, "name": "a\\u2028b"},{"id":2}],"meta":{"total":2}}')


def test_json_text_is_read_back_for_indented_output_and_an_empty_array_is_one():
    data = {"data": JSONText.array(['{"id": 1}']), "none": JSONText.array([])}
    assert JSONRenderer().render(data, "application/json; indent=2") == DrfJSONRenderer().render(
        {"data": [{"id": 1}], "none": []}, "application/json; indent=2")
    # What orjson cannot write beside it sends the whole response down DRF's path, JSONText included.
    assert JSONRenderer().render({"n": 2 ** 70, "data": JSONText('{"a": 1}')}) == (
        b'{"n":1180591620717411303424,"data":{"a":1}}')
