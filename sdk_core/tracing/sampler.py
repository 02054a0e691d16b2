"""Head sampling for traces: one decision per local root, shared by all of its spans.

Order (sentry-sdk's): an explicit decision, then ``traces_sampler``, then the parent's decision,
then ``traces_sample_rate`` against the trace's ``sample_rand``. ``sample_rand`` travels in the
``baggage`` header, so every service of a trace that uses the same rate keeps or drops it together.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Mapping, NamedTuple

from .._internal_errors import log_internal_error, logger


class Decision(NamedTuple):
    """The outcome for one root: kept or not, at which rate, against which random number."""

    sampled: bool
    sample_rate: float | None
    sample_rand: float


def _rate_of(value: Any) -> float | None:
    """A sampler's answer as a rate in [0, 1], or None when it is not one (it then counts as 0)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and not math.isnan(value) and 0.0 <= value <= 1.0:
        return float(value)
    return None


class TracesSampler:
    """``traces_sample_rate`` / ``traces_sampler`` applied to new roots; owns its random source.

    The random source is never the global ``random``: an application that seeds it must not
    change which traces are kept. ``rand`` is injectable for tests.
    """

    __slots__ = ("_own", "_rand", "rate", "sampler")

    def __init__(
        self,
        rate: float | None,
        sampler: Callable[[dict[str, Any]], Any] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.rate = rate
        self.sampler = sampler
        self._own = rand is None
        self._rand: Callable[[], float] = random.Random().random if rand is None else rand

    def new_rand(self, parent_sampled: bool | None = None, parent_rate: float | None = None) -> float:
        """A fresh ``sample_rand``; consistent with a parent's decision when its rate is known."""
        value = self._rand()
        if parent_sampled is not None and parent_rate is not None and 0.0 < parent_rate < 1.0:
            value = value * parent_rate if parent_sampled else parent_rate + value * (1.0 - parent_rate)
        return value

    def decide(
        self,
        name: str,
        attributes: Mapping[str, Any] | None,
        *,
        parent_sampled: bool | None = None,
        parent_rate: float | None = None,
        sample_rand: float | None = None,
        explicit: bool | None = None,
    ) -> Decision:
        """Sample a new local root (never raises: a failing ``traces_sampler`` drops the trace)."""
        rand = sample_rand if sample_rand is not None else self.new_rand(parent_sampled, parent_rate)
        if explicit is not None:
            return Decision(explicit, 1.0 if explicit else 0.0, rand)
        if self.sampler is not None:
            context = {
                "transaction_context": {"name": name, "op": (attributes or {}).get("sentry.op")},
                "name": name,
                "attributes": dict(attributes or {}),
                "parent_sampled": parent_sampled,
                "parent_sample_rate": parent_rate,
            }
            try:
                answer = self.sampler(context)
            except Exception as exc:
                log_internal_error("traces_sampler", exc)
                return Decision(False, 0.0, rand)
            rate = _rate_of(answer)
            if rate is None:
                logger.warning("traces_sampler returned %r; expected a number in [0, 1] or a bool", type(answer))
                return Decision(False, 0.0, rand)
            return Decision(rand < rate, rate, rand)
        if parent_sampled is not None:
            return Decision(parent_sampled, parent_rate, rand)
        rate = self.rate or 0.0
        return Decision(rand < rate, rate, rand)

    def reset_after_fork(self) -> None:
        """A forked child draws its own numbers."""
        if self._own:
            self._rand = random.Random().random
