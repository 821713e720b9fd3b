"""Building models: `provider:model` strings to pydantic-ai models, with keys from the worker's settings.

A real model is built inside the DBOS model step from the run's model string (through the agents'
`ResolveModelId` capability), so API keys never enter workflow inputs. Provider SDK retries are switched
off: DBOS step retries are the one retry layer. Which providers exist and what keys they need is
`providers.py`.
Every model request asks for its model again (`resolve_model_id`): the model built for the first is kept
and handed to the next ones of the same worker, settings and event loop, since building one (an SDK client,
its HTTP client, pydantic-ai's profile and price lookups) costs milliseconds of the event loop's CPU that
every run shares. Its SDK's HTTP client gets the process's one TLS context (`tls.py`).
"""

from __future__ import annotations

import asyncio
import os
import threading
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


BASE_URL_VARIABLES = ("ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "OPENAI_BASE_URL")
"""Where the SDKs send requests when set: read when a client is built, so part of what a kept model is for."""
_KEPT_MODELS = 32
"""At most this many models are kept (a worker uses three or four: planner, searcher, analyst, judge)."""
_kept: dict[tuple[str, ...], tuple[Settings, asyncio.AbstractEventLoop | None, Model]] = {}
_kept_lock = threading.Lock()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def kept_model(model_id: str, settings: Settings) -> Model:
    """The model `build_model` built for `model_id` with these very settings, the same base URLs and on this
    event loop (an SDK's HTTP connections belong to the loop that opened them), else a new one, kept."""
    key = (model_id, *(os.environ.get(name, "") for name in BASE_URL_VARIABLES))
    loop = _running_loop()
    with _kept_lock:
        found = _kept.get(key)
    if found is not None and found[0] is settings and found[1] is loop:
        return found[2]
    model = build_model(model_id, settings)
    with _kept_lock:
        if len(_kept) >= _KEPT_MODELS:
            _kept.clear()
        _kept[key] = (settings, loop, model)
    return model


def resolve_model_id(_ctx: object, model_id: str) -> Model | None:
    """`ResolveModelId` callback: our providers' models with keys from settings, built once (`kept_model`)."""
    if model_id == OFFLINE:
        return None
    provider = model_id.partition(":")[0]
    if provider not in PROVIDERS:
        return None  # let pydantic-ai handle ids such as 'test'
    return kept_model(model_id, engine_settings.current())
