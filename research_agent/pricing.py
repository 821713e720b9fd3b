"""Estimated cost of a run's model usage, from the `genai-prices` tables that pydantic-ai ships with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .providers import OFFLINE, ModelConfigError, split_model_id
from .schema import ModelPrice, Usage

# Our provider names, as genai-prices knows them.
_PRICE_PROVIDERS = {"anthropic": "anthropic", "google-gla": "google", "google": "google", "gemini": "google"}
_FREE_MODELS = {OFFLINE, "test"}


@dataclass(frozen=True)
class CostEstimate:
    """What a run's model requests cost, in US dollars, as far as the price tables know."""

    total_usd: float
    unpriced: tuple[str, ...] = ()
    """Models that were used but have no known price (their cost is not in the total)."""

    def describe(self) -> str:
        """The estimate as a person reads it, e.g. '$0.0123' or '$0.0000 + unpriced: openai:llama3'."""
        text = f"${self.total_usd:.4f}"
        return f"{text} + unpriced: {', '.join(self.unpriced)}" if self.unpriced else text


def estimate_cost(usage_by_model: Mapping[str, Usage]) -> CostEstimate:
    """Price each model's usage; offline and test models are free, unknown ones are listed as unpriced."""
    from genai_prices import calc_price

    total = 0.0
    unpriced = []
    for model_id, usage in usage_by_model.items():
        if model_id in _FREE_MODELS or not usage.total_tokens:
            continue
        try:
            provider, model = split_model_id(model_id)
            price = calc_price(usage, model, provider_id=_PRICE_PROVIDERS.get(provider, provider))
        except (LookupError, ModelConfigError):
            unpriced.append(model_id)
            continue
        total += float(price.total_price)
    return CostEstimate(total_usd=total, unpriced=tuple(unpriced))


_SAMPLE_TOKENS = 1000
"""Tokens priced to read a model's rate: few enough to stay in the lowest tier of tiered prices (Gemini's
long-prompt rates start at 200k tokens)."""


def model_price(model_id: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """What `model_id` charges: the settings' override, else genai-prices' rate; offline and test models are
    free; None when nothing knows its price (a local or new model with no override)."""
    if overrides and model_id in overrides:
        return overrides[model_id]
    if model_id in _FREE_MODELS:
        return ModelPrice(input_per_mtok=0, output_per_mtok=0)
    from genai_prices import Usage as PricedUsage
    from genai_prices import calc_price

    try:
        provider, model = split_model_id(model_id)
        sample = PricedUsage(input_tokens=_SAMPLE_TOKENS, output_tokens=_SAMPLE_TOKENS)
        price = calc_price(sample, model, provider_id=_PRICE_PROVIDERS.get(provider, provider))
    except (LookupError, ModelConfigError):
        return None
    scale = 1_000_000 / _SAMPLE_TOKENS
    return ModelPrice(
        input_per_mtok=float(price.input_price) * scale, output_per_mtok=float(price.output_price) * scale
    )


def run_prices(
    model_ids: Iterable[str], overrides: Mapping[str, ModelPrice] | None = None
) -> dict[str, ModelPrice]:
    """The prices a new run records for its models (those with a known price)."""
    prices = {}
    for model_id in dict.fromkeys(model_ids):
        price = model_price(model_id, overrides)
        if price is not None:
            prices[model_id] = price
    return prices
