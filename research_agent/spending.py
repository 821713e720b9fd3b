"""A run's spending in money, counted and capped inside each agent run beside requests and tokens.

pydantic-ai's own `cost_limit` prices responses with genai-prices' tables as it goes; a run here is priced
at the rates it recorded when it was submitted (`ResearchOptions.model_prices`: a setting's override for a
local or unlisted model, else genai-prices), so a run recovered by a worker with other tables, or a model
no table lists, is counted the same way. `PricedLimits` adds that check to pydantic-ai's usage limits: a
request is not sent once the part's share is spent, and a response that takes it over ends the agent run
with `UsageLimitExceeded`, as a token limit does. A request is also not sent when resending the prompt at
its size so far would reach the cap, so only a part's first request, or one answered at great length, can
take it over.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.usage import RunUsage, UsageLimits

from .schema import Budget, ModelPrice, Usage, format_usd


@dataclass(repr=False, kw_only=True)
class PricedLimits(UsageLimits):
    """pydantic-ai's limits plus a cap in US dollars at a fixed price."""

    cost_cap: float | None = None
    price: ModelPrice | None = None

    def _spent(self, usage: RunUsage) -> float:
        return 0.0 if self.price is None else self.price.cost(usage.input_tokens, usage.output_tokens)

    def check_before_request(self, usage: RunUsage) -> None:
        """Refuse the next request when the spending so far, plus what it would cost to send the prompt
        again at its average size so far (a conversation only grows), reaches the cap."""
        super().check_before_request(usage)
        if self.cost_cap is None or self.price is None:
            return
        spent = self._spent(usage)
        resent = usage.input_tokens / usage.requests if usage.requests else 0
        if spent + self.price.cost(round(resent), 0) >= self.cost_cap:
            raise UsageLimitExceeded(
                f"The next request would exceed the cost limit of {format_usd(self.cost_cap)} "
                f"({format_usd(spent)} spent)"
            )

    def check_cost(self, usage: RunUsage, *, warn_if_cost_unavailable: bool = True) -> None:
        super().check_cost(usage, warn_if_cost_unavailable=warn_if_cost_unavailable)
        if self.cost_cap is not None and (spent := self._spent(usage)) > self.cost_cap:
            raise UsageLimitExceeded(
                f"Exceeded the cost limit of {format_usd(self.cost_cap)} ({format_usd(spent)} spent)"
            )


def usage_limits(budget: Budget | None, price: ModelPrice | None) -> UsageLimits | None:
    """pydantic-ai's limits for one agent run spending at most `budget` at `price` (None: its defaults)."""
    if budget is None:
        return None
    return PricedLimits(
        request_limit=budget.requests if budget.requests is not None else UsageLimits.request_limit,
        total_tokens_limit=budget.tokens,
        cost_cap=budget.cost if price is not None else None,
        price=price,
    )


def usage_of(run_usage: RunUsage, price: ModelPrice | None) -> Usage:
    """An agent run's usage as the run's status counts it, with its cost at `price` (nothing when unpriced)."""
    return Usage(
        requests=run_usage.requests,
        input_tokens=run_usage.input_tokens,
        output_tokens=run_usage.output_tokens,
        tool_calls=run_usage.tool_calls,
        cost=0.0 if price is None else price.cost(run_usage.input_tokens, run_usage.output_tokens),
    )
