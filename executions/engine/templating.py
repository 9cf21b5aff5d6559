"""Templates and conditions, rendered in Jinja2's immutable sandbox.

The context a template sees is plain data (``input``, ``nodes``, ``env``,
``memory``): no Python objects, no attribute access to internals, no I/O.
A missing key renders as the empty string instead of failing the run, the
way most prompt templates behave.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A template that is one expression and nothing else keeps the value's type:
# ``{{nodes.llm_1.output}}`` maps an object to an object, not to its repr.
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
MAX_RENDERED_CHARS = 1_000_000


class TemplateProblem(ValueError):
    """A template failed to parse or render; the message says where."""


# What a user's own template raises besides Jinja's errors (a SecurityError is
# one of those): the sandbox's range limit (OverflowError), arithmetic on the
# wrong types ({{ 1 / 0 }}, {{ 1 + "a" }}), a macro that calls itself, and,
# when compiling, nesting deeper than Python's parser or stack allow.  They are
# the template's fault, so they are a TemplateProblem, not an engine crash.
_USER_ERRORS = (TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError, SyntaxError)


def _tojson(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False,
                                       keep_trailing_newline=True)
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    return env


@lru_cache(maxsize=512)
def _compile(source: str):
    return _environment().from_string(source)


@lru_cache(maxsize=512)
def _compile_expression(source: str):
    return _environment().compile_expression(source, undefined_to_none=True)


def _reason(exc: Exception) -> str:
    """What went wrong, for the template's author."""
    if isinstance(exc, (TemplateError, OverflowError)):
        return str(exc)  # Jinja's messages and the sandbox's range limit read well as they are
    if isinstance(exc, RecursionError):
        return "nested or recursing too deeply."
    if isinstance(exc, SyntaxError):
        return f"nested too deeply ({exc.msg})."
    return f"{exc} ({type(exc).__name__})"


def check_template(source: str) -> str | None:
    """The syntax error in ``source``, or None; for validating pipelines on save."""
    try:
        _compile(source)
    except _USER_ERRORS as exc:
        return f"Template error: {_reason(exc)}"
    return None


def check_expression(expression: str) -> str | None:
    """The syntax error in a condition's expression, or None."""
    match = _SINGLE_EXPRESSION.match(expression)
    try:
        _compile_expression((match.group("expr") if match else expression).strip())
    except _USER_ERRORS as exc:
        return f"Expression error: {_reason(exc)}"
    return None


def render(source: str, context: dict[str, Any]) -> str:
    """Render ``source`` to text."""
    try:
        text = _compile(source).render(context)
    except _USER_ERRORS as exc:
        raise TemplateProblem(f"Template error: {_reason(exc)}") from exc
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateProblem(f"Rendered template is longer than {MAX_RENDERED_CHARS} characters.")
    return text


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate one Jinja expression (``{{ }}`` around it is optional)."""
    match = _SINGLE_EXPRESSION.match(expression)
    source = match.group("expr") if match else expression
    try:
        return _compile_expression(source.strip())(**context)
    except _USER_ERRORS as exc:
        raise TemplateProblem(f"Expression error in {expression!r}: {_reason(exc)}") from exc


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Map a template, or an object/list of templates, to values.

    A string that is exactly one ``{{ expression }}`` evaluates to the
    expression's value (keeping objects, lists and numbers); any other string
    renders to text; objects and lists are mapped item by item.
    """
    if isinstance(value, str):
        if _SINGLE_EXPRESSION.match(value):
            return evaluate(value, context)
        return render(value, context)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def as_text(value: Any) -> str:
    """How a value appears inside a prompt: strings as-is, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _tojson(value)
