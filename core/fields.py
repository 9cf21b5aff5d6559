"""Model fields."""

import orjson
from django.db import models

# orjson reads an integer beyond 64 bits as a float (and silently loses its
# digits); any such integer is written with at least 19 digits in a row.  To
# find such a run, every digit is made a 9 and nineteen 9s are looked for: one
# pass in C over the encoded text, where a regular expression took five times
# as long as orjson's own parse of an agent's config.
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_WIDE_NUMBER = b"9" * 19


class JSONField(models.JSONField):
    """Django's ``JSONField``, read with orjson: a page of agents parses fifty
    configs and pipelines, and ``json.loads`` was a seventh of its CPU
    (docs/PERFORMANCE.md).  Text orjson would read differently from ``json``
    (a run of 19 digits, which may be an integer beyond 64 bits) or refuses
    (``NaN``, ``Infinity``, a lone surrogate, none of which orjson accepts)
    goes to Django's own reading, so every value reads back as it did."""

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str) and self.decoder is None:
            try:
                text = value.encode()
                if _WIDE_NUMBER not in text.translate(_DIGITS_AS_NINES):
                    return orjson.loads(value)
            except (UnicodeEncodeError, orjson.JSONDecodeError):  # a lone surrogate; what orjson refuses
                pass
        return super().from_db_value(value, expression, connection)

    def deconstruct(self):
        # The column is Django's JSONField's: migrations name that, so switching
        # a field to this one (or back) is no schema change.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
