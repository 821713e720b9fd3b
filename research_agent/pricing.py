"""Estimated cost of a run's model usage, from the `genai-prices` tables that pydantic-ai ships with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .providers import OFFLINE, ModelConfigError, split_model_id
from .schema import Usage

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
