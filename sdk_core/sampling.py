"""Error sampling (``sample_rate``) with its own random source, so tests and forks are deterministic."""

from __future__ import annotations

import random
from typing import Callable

RandomSource = Callable[[], float]
"""Returns a float in [0, 1), like ``random.random``."""


class Sampler:
    """Keeps an event with probability ``rate``.

    The random source is injectable (tests pass a fixed sequence) and never the global ``random``:
    an application that seeds ``random`` for its own reasons must not change which errors we keep.
    """

    __slots__ = ("_own", "_rand", "rate")

    def __init__(self, rate: float, rand: RandomSource | None = None) -> None:
        self.rate = rate
        self._own = rand is None
        self._rand: RandomSource = random.Random().random if rand is None else rand

    def keep(self) -> bool:
        """True if this event is sampled in; a rate of 1.0 never draws."""
        rate = self.rate
        return rate >= 1.0 or self._rand() < rate

    def reset_after_fork(self) -> None:
        """A forked child gets a fresh seed of its own, so parent and child do not sample alike."""
        if self._own:
            self._rand = random.Random().random
