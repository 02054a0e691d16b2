"""The default rule list, assembled in priority order, and the credentials-only list."""

from __future__ import annotations

from scrubbers.context import DEFAULT_CONTEXT_RULES
from scrubbers.credentials import DEFAULT_CREDENTIAL_RULES
from scrubbers.keys import DEFAULT_KEY_RULES
from scrubbers.patterns import DEFAULT_PATTERN_RULES
from scrubbers.rules import PathRule, RuleList

__all__ = ["CREDENTIALS", "DEFAULT", "DEFAULT_PATH_RULES"]

DEFAULT_PATH_RULES = (
    PathRule(
        id="cookie-values",
        selector="request.cookies.*",
        category="session",
        description="every value in request.cookies (cookie names are kept)",
    ),
)

CREDENTIALS = RuleList(DEFAULT_CREDENTIAL_RULES)
"""Provider-credential value rules only (Slack, OpenAI, AWS, GitHub, ...): for a server-side second layer."""

DEFAULT = RuleList(
    (*DEFAULT_KEY_RULES, *DEFAULT_PATH_RULES, *DEFAULT_CREDENTIAL_RULES, *DEFAULT_PATTERN_RULES, *DEFAULT_CONTEXT_RULES)
)
"""Every default rule: key rules, path rules, provider credentials, PII and generic patterns, then context rules."""
