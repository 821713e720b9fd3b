"""The model providers we know, the keys they need, and whether a run can go online: what clients may ask.

This is the only module that knows provider names (`models.py` builds the models). Clients use it to
check a model string and its key before a run is submitted, and to say why a run goes offline; it
imports nothing heavy, so the CLI and the UI can ask without loading pydantic-ai.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Settings

OFFLINE = "offline"
"""Model id of the built-in offline model of each role."""


@dataclass(frozen=True)
class Provider:
    """A provider prefix we accept and the setting and variable that hold its key."""

    setting: str
    variable: str
    key_optional_with_base_url: bool = False


PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider("anthropic_api_key", "ANTHROPIC_API_KEY"),
    "google-gla": Provider("google_api_key", "GOOGLE_API_KEY"),
    "google": Provider("google_api_key", "GOOGLE_API_KEY"),
    "gemini": Provider("google_api_key", "GOOGLE_API_KEY"),
    "openai": Provider("openai_api_key", "OPENAI_API_KEY", key_optional_with_base_url=True),
}

NATIVE_WEB_SEARCH_PROVIDERS = frozenset({"anthropic", "google-gla", "google", "gemini", "openai"})


class ModelConfigError(Exception):
    """A model string cannot be used as configured; the message names the fix."""


def split_model_id(model_id: str) -> tuple[str, str]:
    provider, _, name = model_id.partition(":")
    if not name:
        raise ModelConfigError(
            f"model {model_id!r} is not of the form provider:model (for example anthropic:claude-sonnet-5-5)"
        )
    if provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ModelConfigError(f"unknown model provider {provider!r} in {model_id!r}; use one of: {known}")
    return provider, name


def missing_key(model_id: str, settings: Settings) -> str | None:
    """The environment variable a model still needs, or None when it can be used."""
    provider = PROVIDERS[split_model_id(model_id)[0]]
    if settings.secret(provider.setting):
        return None
    if provider.key_optional_with_base_url and settings.openai_base_url:
        return None
    return provider.variable


def check_online_models(settings: Settings, model_ids: list[str]) -> None:
    """Raise `ModelConfigError` naming the first problem with `model_ids` (unknown provider, missing key)."""
    for model_id in model_ids:
        variable = missing_key(model_id, settings)
        if variable:
            raise ModelConfigError(
                f"model {model_id!r} needs {variable}; set it in the environment or in .env"
            )


def offline_reason(settings: Settings) -> str | None:
    """Why the configured models cannot run online (missing keys), or None when they can."""
    missing = []
    for model_id in (settings.planner_model, settings.search_model, settings.analyst_model):
        variable = missing_key(model_id, settings)
        if variable and variable not in missing:
            missing.append(variable)
    return f"no {', '.join(missing)}" if missing else None


def supports_native_web_search(model_id: str) -> bool:
    return model_id != OFFLINE and split_model_id(model_id)[0] in NATIVE_WEB_SEARCH_PROVIDERS
