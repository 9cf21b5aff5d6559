"""Creating, changing, deleting and testing LLM providers.

Providers are shared by the whole installation, so only staff change them.
The API key is write-only: it is stored encrypted, and never logged, echoed
in an error or returned.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actor import Actor
from agents.providers import BUILTIN_PROVIDERS
from agents.services import NameTaken
from agents.validation import UUID_LIKE_RE
from core import crypto, netguard
from core.errors import ApiError, BadGateway, Forbidden, NotFound, ValidationFailed
from executions.llm import CompletionRequest, Message, ProviderError, client_for
from executions.llm.errors import redact
from executions.models import Provider, ProviderKind
from executions.selectors import PROVIDER_NAME_RE, provider_settings

logger = logging.getLogger("agentry.providers")

FIELDS = ("name", "kind", "base_url", "api_key", "models")
NAME_MAX, BASE_URL_MAX, API_KEY_MAX = 64, 500, 4096
MODELS_MAX, MODEL_NAME_MAX, PRICE_MAX = 200, 200, 1_000_000
MODEL_KEYS = ("name", "input_per_million", "output_per_million")
TEST_PROMPT = "Reply with: ok"
TEST_TIMEOUT_SECONDS = 30.0
OUTPUT_MAX = 1000


class NotConfigured(ApiError):
    status, code = 400, "not_configured"


def require_staff(user) -> None:
    """Providers serve every agent on the installation; only staff manage them."""
    if not getattr(user, "is_staff", False):
        raise Forbidden("Providers are shared by the whole installation; only staff users may change or test them.")


# --- validation -------------------------------------------------------------------


def _name_problem(name) -> str | None:
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        return f"Must be 1–{NAME_MAX} characters."
    if not PROVIDER_NAME_RE.match(name):
        return "Use letters, digits, hyphens, underscores and dots, starting with a letter or digit."
    if UUID_LIKE_RE.match(name):
        return "Cannot have the form of a UUID (ids and names share the path)."
    if name.lower() in BUILTIN_PROVIDERS:
        return f"{name!r} is the name of a built-in provider."
    return None


def _kind_problem(kind) -> str | None:
    if kind not in ProviderKind.values:
        return f"Must be one of {', '.join(ProviderKind.values)}."
    return None


def _base_url_problem(url: str) -> str | None:
    if len(url) > BASE_URL_MAX:
        return f"Ensure this field has no more than {BASE_URL_MAX} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "Must not contain whitespace or control characters."
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None  # check_url explains
    if parts is not None and (parts.username is not None or parts.password is not None):
        return "Must not carry credentials; set api_key instead."
    if parts is not None and parts.fragment:
        return "Must not have a fragment."
    try:
        netguard.check_url(url)
    except netguard.UnsafeUrl as exc:
        return str(exc)
    return None


def _price_problem(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        return "Must be a number."
    if not 0 <= value <= PRICE_MAX:
        return f"Must be between 0 and {PRICE_MAX}."
    return None


def _clean_models(models, errors: dict) -> list[dict]:
    """``models`` as stored, every price present; problems go to ``errors``
    under ``models[i].field``."""
    if not isinstance(models, list):
        errors["models"] = ["Must be a list of objects."]
        return []
    if len(models) > MODELS_MAX:
        errors["models"] = [f"At most {MODELS_MAX} models."]
        return []
    clean, seen = [], set()
    for i, model in enumerate(models):
        path = f"models[{i}]"
        if not isinstance(model, dict):
            errors[path] = ["Must be an object with name, input_per_million and output_per_million."]
            continue
        for key in sorted(set(model) - set(MODEL_KEYS)):
            errors[f"{path}.{key}"] = ["Unknown field."]
        name = model.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MODEL_NAME_MAX:
            errors[f"{path}.name"] = [f"Must be 1–{MODEL_NAME_MAX} characters."]
        elif name in seen:
            errors[f"{path}.name"] = ["Listed twice."]
        else:
            seen.add(name)
        entry = {"name": name}
        for key in ("input_per_million", "output_per_million"):
            value = model.get(key, 0)
            problem = _price_problem(value)
            if problem:
                errors[f"{path}.{key}"] = [problem]
            entry[key] = value
        clean.append(entry)
    return clean


def _clean_api_key(value, errors: dict) -> str:
    """The key to store: a string (``""`` clears it); its value never goes in a message."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors["api_key"] = ["Must be a string."]
        return ""
    value = value.strip()
    if len(value) > API_KEY_MAX:
        errors["api_key"] = [f"Ensure this field has no more than {API_KEY_MAX} characters."]
    return value


def _clean_base_url(value, *, kind: str, current: str | None, errors: dict) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors["base_url"] = ["Must be a string."]
        return ""
    value = value.strip()
    if kind == ProviderKind.ECHO and value:
        errors["base_url"] = ["The echo provider runs offline and takes no base_url."]
    elif value and value != current:  # an unchanged URL was checked when it was set
        problem = _base_url_problem(value)
        if problem:
            errors["base_url"] = [problem]
    return value


def provider_validate(*, provider: Provider | None = None, **fields) -> dict:
    """The given fields, checked and normalised for a create (``provider``
    None, ``name`` and ``kind`` required) or an update of ``provider``.
    Raises ``ValidationFailed`` with every problem, then ``NameTaken``."""
    errors: dict[str, list[str]] = {}
    for key in sorted(set(fields) - set(FIELDS)):
        errors[key] = ["Unknown field."]
    if provider is None:
        for key in ("name", "kind"):
            if fields.get(key) is None:
                errors[key] = ["This field is required."]
    clean = {}
    for key, problem_of in (("name", _name_problem), ("kind", _kind_problem)):
        if key in fields and key not in errors:
            problem = problem_of(fields[key])
            if problem:
                errors[key] = [problem]
            clean[key] = fields[key]
    kind = clean.get("kind", provider.kind if provider else None)
    if "base_url" in fields:
        clean["base_url"] = _clean_base_url(fields["base_url"], kind=kind,
                                            current=provider.base_url if provider else None, errors=errors)
    elif kind == ProviderKind.ECHO and provider is not None and provider.base_url:
        clean["base_url"] = ""  # switching to echo drops the endpoint it no longer uses
    if "api_key" in fields:
        clean["api_key"] = _clean_api_key(fields["api_key"], errors)
    if "models" in fields:
        clean["models"] = _clean_models(fields["models"], errors)
    if errors:
        raise ValidationFailed.from_errors(errors)
    if "name" in clean:
        _ensure_name_free(clean["name"], exclude_pk=provider.pk if provider else None)
    return clean


def _ensure_name_free(name: str, exclude_pk=None) -> None:
    clash = Provider.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise NameTaken(f"A provider named {name!r} already exists.", errors={"name": ["Already in use."]})


def _save(provider: Provider, *, create: bool) -> None:
    """Insert or update, turning a lost race on the unique name into 409."""
    try:
        with transaction.atomic():
            provider.save(force_insert=create)
    except IntegrityError:
        raise NameTaken(f"A provider named {provider.name!r} already exists.", errors={"name": ["Already in use."]})


def _apply(provider: Provider, clean: dict) -> list[str]:
    """Set the cleaned fields on ``provider``; the names of those that changed
    (``api_key`` as ``api_key set`` or ``api_key cleared``, never its value)."""
    changed = []
    for field in ("name", "kind", "base_url", "models"):
        if field in clean and getattr(provider, field) != clean[field]:
            setattr(provider, field, clean[field])
            changed.append(field)
    if "api_key" in clean:
        key = clean["api_key"]
        if key:
            provider.api_key_ciphertext = crypto.encrypt(key)
            changed.append("api_key set")
        elif provider.api_key_ciphertext:
            provider.api_key_ciphertext = ""
            changed.append("api_key cleared")
    return changed


def _who(actor: Actor) -> str:
    user = actor.user
    via = f" with token {actor.token.name!r}" if actor.token is not None else ""
    return f"{getattr(user, 'email', '') or getattr(user, 'username', '?')}{via}"


# --- writes ---------------------------------------------------------------------------


# Validation may resolve a base_url's host, so it runs before the transaction:
# on SQLite a write transaction holds the database's one write lock.

def provider_create(*, actor: Actor, **fields) -> Provider:
    """Create a provider from ``name``, ``kind`` and optional ``base_url``,
    ``api_key`` and ``models``."""
    require_staff(actor.user)
    clean = provider_validate(**fields)
    provider = Provider(created_by=actor.user if getattr(actor.user, "pk", None) else None)
    changed = _apply(provider, clean)
    _save(provider, create=True)
    logger.info("Provider %s (%s) created by %s: %s", provider.name, provider.pk, _who(actor), ", ".join(changed))
    return provider


def provider_update(*, actor: Actor, provider: Provider, **fields) -> Provider:
    """Change some of a provider's fields.  ``api_key`` omitted keeps the
    key, ``""`` or ``None`` clears it."""
    require_staff(actor.user)
    clean = provider_validate(provider=provider, **fields)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(pk=provider.pk).first()
        if provider is None:
            raise NotFound("Provider not found.")
        changed = _apply(provider, clean)
        if changed:
            provider.updated_at = timezone.now()
            _save(provider, create=False)
    if changed:
        logger.info("Provider %s (%s) changed by %s: %s", provider.name, provider.pk, _who(actor),
                    ", ".join(changed))
    return provider


@transaction.atomic
def provider_delete(*, actor: Actor, provider: Provider) -> None:
    """Delete a provider.  Executions keep their own copy of the provider's
    name; agents that name it fail at run time until pointed elsewhere."""
    require_staff(actor.user)
    Provider.objects.filter(pk=provider.pk).delete()
    logger.info("Provider %s (%s) deleted by %s", provider.name, provider.pk, _who(actor))


# --- test -------------------------------------------------------------------------------


def _test_model(provider: Provider, model) -> str:
    if model is None:
        listed = [m["name"] for m in provider.models or []]
        if not listed:
            raise ValidationFailed("Name a model to test: this provider lists none.",
                                   errors={"model": ["Required when the provider lists no models."]})
        return listed[0]
    if not isinstance(model, str) or not model.strip() or len(model) > MODEL_NAME_MAX:
        raise ValidationFailed(f"model: Must be 1–{MODEL_NAME_MAX} characters.",
                               errors={"model": [f"Must be 1–{MODEL_NAME_MAX} characters."]})
    return model


async def _complete_once(settings, request: CompletionRequest):
    client = client_for(settings)
    try:
        return await client.complete(request)
    finally:
        await client.aclose()


def provider_test(*, provider: Provider, model: str | None = None) -> dict:
    """Send a one-line prompt to ``model`` (default: the first listed) and
    report what came back.  A provider failure is a 502 ``provider_error``."""
    model = _test_model(provider, model)
    try:
        settings = provider_settings(provider)
    except ValueError as exc:
        raise NotConfigured(f"{exc} Set the provider's api_key again.")
    settings = dataclasses.replace(settings, timeout_seconds=min(settings.timeout_seconds, TEST_TIMEOUT_SECONDS))
    request = CompletionRequest(model=model, messages=(Message(role="user", content=TEST_PROMPT),))
    started = time.perf_counter()
    try:
        completion = async_to_sync(_complete_once)(settings, request)
    except ProviderError as exc:
        where = f"HTTP {exc.status}" if exc.status else "no response"
        reason = exc.message.removeprefix(f"{provider.name}: ").removeprefix(f"{where}: ")
        detail = redact(f"Provider {provider.name!r} failed ({where}): {reason}", settings.api_key)
        logger.warning("Provider %s (%s) test with model %s failed: %s", provider.name, provider.pk, model, detail)
        raise BadGateway(detail[:1000])
    latency_ms = round((time.perf_counter() - started) * 1000)
    logger.info("Provider %s (%s) test with model %s answered in %d ms", provider.name, provider.pk, model,
                latency_ms)
    return {"ok": True, "model": model, "latency_ms": latency_ms,
            "output": redact(completion.text, settings.api_key)[:OUTPUT_MAX],
            "usage": {"prompt": completion.usage.prompt_tokens, "completion": completion.usage.completion_tokens}}
