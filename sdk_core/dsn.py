"""DSN value object: parsed once at ``init``; its key never appears in repr, str or errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN: where envelopes go and the public key that authenticates them (never in repr or str)."""
    scheme: str
    host: str
    port: int | None
    path_prefix: str
    project_id: str
    public_key: str = field(repr=False)

    @classmethod
    def parse(cls, value: object) -> Dsn:
        """Parse and validate a DSN string; errors name the part that is wrong and never echo the key."""
        if not isinstance(value, str):
            raise TypeError(f"dsn: expected a string, got {type(value).__name__}")
        raw = value.strip()
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError:
            raise ValueError("dsn: not a valid URL (expected https://<public_key>@<host>/<project_id>)") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"dsn: scheme must be http or https, got {parts.scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError("dsn: missing host (expected https://<public_key>@<host>/<project_id>)")
        if not parts.username:
            raise ValueError("dsn: missing public key (expected https://<public_key>@<host>/<project_id>)")
        if parts.password:
            raise ValueError(
                "dsn: contains a secret key (public_key:secret@); secret keys are deprecated "
                "and must not be shipped in clients, use the public key alone"
            )
        if parts.query or parts.fragment:
            raise ValueError("dsn: must not have a query string or fragment")
        path = parts.path.rstrip("/")
        prefix, _, project_id = path.rpartition("/")
        if not project_id:
            raise ValueError("dsn: missing project id (expected https://<public_key>@<host>/<project_id>)")
        if not project_id.isdigit():
            raise ValueError(f"dsn: project id must be numeric, got {project_id!r}")
        key = parts.username
        if not all(c in _HEX or c.isalnum() for c in key):
            raise ValueError("dsn: public key must be alphanumeric")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            path_prefix=prefix,
            project_id=project_id,
            public_key=key,
        )

    @property
    def netloc(self) -> str:
        """Host and port as they appear in a URL (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def envelope_url(self) -> str:
        """The ingest endpoint every envelope is posted to."""
        return f"{self.scheme}://{self.netloc}{self.path_prefix}/api/{self.project_id}/envelope/"

    def auth_header(self, client: str) -> str:
        """The X-Sentry-Auth header value: the public key is the only credential, and it is write-only."""
        return f"Sentry sentry_version=7, sentry_client={client}, sentry_key={self.public_key}"

    def describe(self) -> str:
        """Safe to log: host and project, never the key."""
        return f"{self.scheme}://{self.netloc}{self.path_prefix}/{self.project_id}"

    def __str__(self) -> str:
        return self.describe()

    def to_string(self) -> str:
        """The full DSN, key included: only for putting it where the user configured it."""
        return f"{self.scheme}://{self.public_key}@{self.netloc}{self.path_prefix}/{self.project_id}"
