"""The agent's brain: which model it thinks with (``PATCH /model``) and the
seed-002 settings shorthand (``/settings``).

Both change only the working config, through the same lock, revision bump
and audit diff as ``agent_update``; a running agent keeps its deployed
version until ``redeploy`` (API.md §7).  Models are checked against the
configured providers: a provider row that lists its models accepts only
those; the built-in providers accept any model name.
"""

from __future__ import annotations

from django.db import transaction

from accounts.actor import Actor
from agents.config import normalize_config, public_config
from agents.inputs.config import AgentModelChangeSerializer, AgentSettingsSerializer
from agents.models import Agent, AuditAction
from agents.providers import BUILTIN_PROVIDERS, known_providers, provider_find
from agents.services.agents import agent_changes_apply, agent_lock
from agents.services.audit import agent_snapshot
from core.errors import ValidationFailed
from core.validation import validated

SETTINGS_PATHS = {"llm_provider": ("provider",), "llm_model": ("model",), "llm_temperature": ("params", "temperature")}


def _validated(serializer_class, data, *, partial: bool = False) -> dict:
    return dict(validated(serializer_class(data=data, partial=partial)))


# --- rules --------------------------------------------------------------------------------------

def model_ref_errors(provider: str, model: str, *, provider_path: str, model_path: str) -> dict[str, list[str]]:
    """Why ``provider``/``model`` cannot be used, keyed by the caller's paths; empty when it can.

    A provider row that lists models accepts only those; one without a list
    and the built-in providers accept any model.
    """
    if provider in BUILTIN_PROVIDERS:
        return {}
    row = provider_find(provider)
    if row is None:
        return {provider_path: [f"Unknown provider {provider!r}; known providers: {', '.join(known_providers())}."]}
    names = [m.get("name") for m in row.models or []]
    if names and model not in names:
        return {model_path: [f"Provider {row.name!r} has no model {model!r}; its models: {', '.join(names)}."]}
    return {}


def models_errors(*, model: dict | None, fallback_models: list[dict] | None,
                  model_path: str = "model", fallbacks_path: str = "fallback_models") -> dict[str, list[str]]:
    """Every unusable model in a primary model and a fallback list, by path."""
    errors: dict[str, list[str]] = {}
    if model is not None:
        errors.update(model_ref_errors(model["provider"], model["model"], provider_path=f"{model_path}.provider",
                                       model_path=f"{model_path}.model"))
    for i, ref in enumerate(fallback_models or []):
        here = f"{fallbacks_path}[{i}]"
        errors.update(model_ref_errors(ref["provider"], ref["model"], provider_path=f"{here}.provider",
                                       model_path=f"{here}.model"))
    return errors


# --- writes -------------------------------------------------------------------------------------

def _write_config(agent: Agent, config: dict, *, actor: Actor, action: str, before: dict) -> Agent:
    clean = {"config": normalize_config(config, previous=agent.config)}
    return agent_changes_apply(agent, clean, actor=actor, action=action, before=before)


@transaction.atomic
def agent_model_set(*, agent: Agent, actor: Actor, data: dict, if_match: list[str] | None = None) -> Agent:
    """Swap the primary model and/or replace the fallback list (the body of
    ``PATCH /model``), audited as ``agent.model_changed``."""
    clean = _validated(AgentModelChangeSerializer, data)
    errors = models_errors(model=clean.get("model"), fallback_models=clean.get("fallback_models"))
    if errors:
        raise ValidationFailed.from_errors(errors)
    agent = agent_lock(agent, if_match=if_match)
    before = agent_snapshot(agent)
    config = public_config(agent.config)
    if "model" in clean:
        chosen = dict(clean["model"])
        chosen.setdefault("params", config.get("model", {}).get("params", {}))
        config["model"] = chosen
    if "fallback_models" in clean:
        config["fallback_models"] = clean["fallback_models"]
    return _write_config(agent, config, actor=actor, action=AuditAction.MODEL_CHANGED, before=before)


@transaction.atomic
def agent_settings_set(*, agent: Agent, actor: Actor, data: dict, partial: bool = False,
                       if_match: list[str] | None = None) -> Agent:
    """``PUT /settings`` (all three keys) or ``PATCH /settings`` (any of
    them): write them into ``config.model``, audited as ``agent.settings_changed``."""
    clean = _validated(AgentSettingsSerializer, data, partial=partial)
    if partial and not clean:
        raise ValidationFailed.from_errors({"non_field_errors": [
            "Send llm_provider, llm_model or llm_temperature."]})
    agent = agent_lock(agent, if_match=if_match)
    before = agent_snapshot(agent)
    config = public_config(agent.config)
    model = {**config.get("model", {}), "params": dict(config.get("model", {}).get("params", {}))}
    for key, path in SETTINGS_PATHS.items():
        if key in clean:
            (model["params"] if len(path) == 2 else model)[path[-1]] = clean[key]
    errors = model_ref_errors(model["provider"], model["model"], provider_path="llm_provider", model_path="llm_model")
    if errors:
        raise ValidationFailed.from_errors(errors)
    config["model"] = model
    return _write_config(agent, config, actor=actor, action=AuditAction.SETTINGS_CHANGED, before=before)
