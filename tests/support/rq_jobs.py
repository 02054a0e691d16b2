"""Job functions for the RQ tests: RQ imports them by dotted name in the worker."""

from __future__ import annotations

import sdk_core


def charge(user_id: int, password: str, amount: int = 1) -> None:
    sdk_core.add_breadcrumb(message=f"charging user {user_id}")
    raise ValueError(f"card of user {user_id} declined for {amount}")


def succeed(value: int) -> int:
    sdk_core.add_breadcrumb(message="succeeding")
    return value * 2
