"""Building models: `provider:model` strings to pydantic-ai models, with keys from the worker's settings.

A real model is built inside the DBOS model step from the run's model string (through the agents'
`ResolveModelId` capability), so API keys never enter workflow inputs. Provider SDK retries are switched
off: DBOS step retries are the one retry layer. Which providers exist and what keys they need is
`providers.py`.
A model is built for every request, so its SDK's HTTP client gets the process's one TLS context
(`tls.py`) instead of loading the CA bundle again each time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import engine_settings
from .providers import OFFLINE, PROVIDERS, check_online_models, split_model_id
from .settings import Settings
from .tls import shared_tls_context

if TYPE_CHECKING:  # pydantic-ai is slow to import
    from pydantic_ai.models import Model


def build_model(model_id: str, settings: Settings) -> Model:
    """A pydantic-ai model for `provider:model`, with the key taken from settings and SDK retries off."""
    provider_name, name = split_model_id(model_id)
    check_online_models(settings, [model_id])
    key = settings.secret(PROVIDERS[provider_name].setting)
    if provider_name == "anthropic":
        from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        client = AsyncAnthropic(
            api_key=key, max_retries=0, http_client=DefaultAsyncHttpxClient(verify=shared_tls_context())
        )
        return AnthropicModel(name, provider=AnthropicProvider(anthropic_client=client))
    if provider_name in ("google-gla", "google", "gemini"):
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider

        return GoogleModel(name, provider=GoogleProvider(api_key=key))
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    openai_client = AsyncOpenAI(
        api_key=key or "not-needed",
        base_url=settings.openai_base_url,
        max_retries=0,
        http_client=DefaultAsyncHttpxClient(verify=shared_tls_context()),
    )
    return OpenAIChatModel(name, provider=OpenAIProvider(openai_client=openai_client))


def resolve_model_id(_ctx: object, model_id: str) -> Model | None:
    """`ResolveModelId` callback: build our providers' models with keys from settings."""
    if model_id == OFFLINE:
        return None
    provider = model_id.partition(":")[0]
    if provider not in PROVIDERS:
        return None  # let pydantic-ai handle ids such as 'test'
    return build_model(model_id, engine_settings.current())
