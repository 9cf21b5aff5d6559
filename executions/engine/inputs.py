"""Input schemas: whether a JSON Schema is usable, and checking a run's
input against the pipeline's."""

from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_ERRORS = 20


def json_schema_problem(schema) -> str | None:
    """Why ``schema`` is not a usable JSON Schema (draft 2020-12), or ``None``."""
    if not isinstance(schema, dict):
        return "Must be a JSON Schema object."
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"Not a valid JSON Schema: {exc.message}"
    return None


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def input_errors(schema: dict, value, prefix: str = "input") -> dict[str, list[str]]:
    """Map of error paths (``input.items[0].name``) to messages; empty when valid."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    try:
        found = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    except RecursionError:
        # Values nest at most AGENTRY_MAX_JSON_DEPTH levels, so only a schema whose
        # $ref leads back to itself without going deeper (``{"$ref": "#"}``) gets here.
        return {prefix: ["The schema cannot be checked: a $ref in it refers back to itself without end."]}
    errors: dict[str, list[str]] = {}
    for error in found:
        path = prefix
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            if missing:
                path, message = f"{path}.{missing}", "This field is required."
            else:
                message = error.message
        else:
            message = error.message
        errors.setdefault(path, []).append(message)
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def input_schema(pipeline: dict) -> dict | None:
    """The input node's schema, if the pipeline has one."""
    for node in (pipeline or {}).get("nodes", []):
        if node.get("type") == "input":
            schema = node.get("data", {}).get("schema")
            return schema if isinstance(schema, dict) and schema else None
    return None
