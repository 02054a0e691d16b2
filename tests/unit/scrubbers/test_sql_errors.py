"""Database errors leak the values bound to sensitive columns (issue 13).

PostgreSQL's unique-violation details, SQLAlchemy's ``[SQL: ...]`` / ``[parameters: ...]`` lines
and literal SQL name the column of every value; a value whose column is a sensitive field name
is filtered and every other value (ids, e-mail flags, counters, statuses) is kept.
"""

from __future__ import annotations

from typing import Any

import pytest

import scrubbers

ENGINE = scrubbers.compile_rules()
F = "[Filtered]"
TOKEN = "JwZYyzhwl2Ky9VkYX6jP6hHfMEk5jv5B6hT2gYwQ"
HEXTOK = "599410b9aa5e62597766340b85b17f052faf9d2d"
PW = "Xk9mPq2vLtAbc"
BCRYPT = "$2b$12$.s.YM2ACUOjJbsCbp139Jl/I2A6ekYgjfGxymdvt1DfILDktqRddp"
RESET = "oCb8juSbyoZ5gxnXaIY1IMXEq90mfkoeaRNFso68"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        (f"DETAIL:  Key (api_token)=({HEXTOK}) already exists.", [HEXTOK]),
        (
            f'duplicate key value violates unique constraint "users_email_reset_token_key"\n'
            f"DETAIL:  Key (email, reset_token)=(ana@example.org, {RESET}) already exists.",
            [RESET],
        ),
        (f'DETAIL:  Key ("password_hash")=({BCRYPT}) already exists.', [BCRYPT]),
        (f'DETAIL:  Key (session_key)=({HEXTOK}) is not present in table "sessions".', [HEXTOK]),
    ],
)
def test_postgres_key_details(text: str, secrets: list[str]) -> None:
    out = ENGINE.scrub_text(text)
    for secret in secrets:
        assert secret not in out
    assert out.count(F) >= len(secrets)  # the e-mail address is personal data of its own
    assert out.startswith(text[: text.index("=(") + 2])  # the columns stay


SQLITE = (
    "(sqlite3.IntegrityError) UNIQUE constraint failed: users.email\n"
    "[SQL: INSERT INTO users (email, password, api_token) VALUES (?, ?, ?)]\n"
    f"[parameters: ('ana@example.org', '{PW}', '{TOKEN}')]\n"
    "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
)
PYMYSQL = (
    '(pymysql.err.IntegrityError) (1062, "Duplicate entry")\n'
    "[SQL: UPDATE users SET password_hash=%s, reset_token=%s WHERE users.id = %s]\n"
    f"[parameters: ('{BCRYPT}', '{RESET}', 42)]"
)


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        (SQLITE, [PW, TOKEN]),
        (PYMYSQL, [BCRYPT, RESET]),
        (  # psycopg2 named placeholders, dict parameters
            "(psycopg2.errors.UniqueViolation) duplicate key value\n"
            "[SQL: INSERT INTO users (status, password) VALUES (%(status)s, %(password)s)]\n"
            f"[parameters: {{'status': 'active', 'password': '{PW}'}}]",
            [PW],
        ),
        (  # SQLAlchemy's generated names: the column decides, not the name
            "(sqlite3.OperationalError) database is locked\n"
            "[SQL: UPDATE accounts SET secret=:param_1 WHERE accounts.id = :id_1]\n"
            f"[parameters: {{'param_1': '{TOKEN}', 'id_1': 7}}]",
            [TOKEN],
        ),
        (  # asyncpg numbered placeholders
            "(sqlalchemy.dialects.postgresql.asyncpg.IntegrityError) <class 'asyncpg.UniqueViolationError'>\n"
            "[SQL: UPDATE users SET status=$2, api_key=$1 WHERE users.id = $3]\n"
            f"[parameters: ('{TOKEN}', 'active', 12)]",
            [TOKEN],
        ),
        (  # executemany: every row
            "(sqlite3.IntegrityError) NOT NULL constraint failed: users.id\n"
            "[SQL: INSERT INTO users (email, password) VALUES (?, ?)]\n"
            f"[parameters: [('a@example.org', '{PW}'), ('b@example.org', 'Qw7eRt5yUi3o')]]",
            [PW, "Qw7eRt5yUi3o"],
        ),
        (  # a multi-row VALUES (insertmanyvalues) with the same secret twice: both copies
            "(psycopg2.errors.NotNullViolation) null value\n"
            "[SQL: INSERT INTO tokens (user_id, refresh_token) VALUES (%s, %s), (%s, %s)]\n"
            f"[parameters: (1, '{RESET}', 2, '{RESET}')]",
            [RESET],
        ),
        (  # long executemany: SQLAlchemy's note between the first and the last sets
            "(sqlite3.IntegrityError) UNIQUE constraint failed\n"
            "[SQL: INSERT INTO users (name, pin) VALUES (?, ?)]\n"
            "[parameters: [('ana', '4821'), ('bo', '7390')  ... displaying 10 of 500 total bound parameter sets ...  "
            "('yan', '1174'), ('zoe', '6603')]]",
            ["4821", "7390", "1174", "6603"],
        ),
        (  # datetimes and Decimals are not Python literals: still read
            "(sqlite3.IntegrityError) CHECK constraint failed\n"
            "[SQL: INSERT INTO cards (created_at, amount, card_number) VALUES (?, ?, ?)]\n"
            "[parameters: (datetime.datetime(2024, 5, 1, 12, 0), Decimal('10.50'), '4111111111111111')]",
            ["4111111111111111"],
        ),
        (  # WHERE comparisons
            "(psycopg2.OperationalError) server closed the connection unexpectedly\n"
            "[SQL: SELECT users.id FROM users WHERE users.reset_token = %(reset_token_1)s AND users.status = %(s)s]\n"
            f"[parameters: {{'reset_token_1': '{RESET}', 's': 'active'}}]",
            [RESET],
        ),
        (  # pgcrypto with a placeholder: the first argument of crypt is a password
            "(psycopg2.errors.UndefinedFunction) function gen_salt(unknown) does not exist\n"
            "[SQL: UPDATE users SET pw_hash = crypt(%s, gen_salt('bf')) WHERE id = %s]\n"
            f"[parameters: ('{PW}', 5)]",
            [PW],
        ),
    ],
)
def test_sqlalchemy_parameters(text: str, secrets: list[str]) -> None:
    out = ENGINE.scrub_text(text)
    for secret in secrets:
        assert secret not in out
    assert "[SQL: " in out and "[parameters: " in out


def test_only_the_sensitive_values_are_replaced() -> None:
    out = ENGINE.scrub_text(PYMYSQL)
    assert out.endswith(f"[parameters: ('{F}', '{F}', 42)]")
    assert "UPDATE users SET password_hash=%s, reset_token=%s WHERE users.id = %s" in out


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"INSERT INTO users (email, password) VALUES ('a@b.c', '{PW}')", PW),
        (f"INSERT INTO users (name, api_token) VALUES ('ana', '{TOKEN}'), ('bo', 'Zx8cVb6nMl4k')", TOKEN),
        (f"SELECT id FROM users WHERE pw = crypt('{PW}', gen_salt('bf'))", PW),
        (f"UPDATE accounts SET password = '{PW}' WHERE id = 3", PW),
    ],
)
def test_literal_sql(text: str, secret: str) -> None:
    out = ENGINE.scrub_text(text)
    assert secret not in out
    assert F in out


@pytest.mark.parametrize(
    "text",
    [
        "DETAIL:  Key (email_verified, status)=(false, active) already exists.",
        'DETAIL:  Key (id)=(42) is still referenced from table "orders".',
        "DETAIL:  Key (password_attempts)=(3) already exists.",
        # a comma inside a value: the columns and values no longer line up, nothing is guessed
        "DETAIL:  Key (api_token)=(a, b) already exists.",
        "(sqlite3.IntegrityError) UNIQUE constraint failed: users.email\n"
        "[SQL: INSERT INTO users (email_verified, password_attempts, status) VALUES (?, ?, ?)]\n"
        "[parameters: (1, 3, 'locked')]",
        # an SQL error without parameters
        '(psycopg2.errors.UndefinedTable) relation "users" does not exist\n[SQL: SELECT password FROM users]',
        # parameters that do not count out against the placeholders
        "[SQL: UPDATE users SET password=? WHERE id = ?]\n[parameters: ('Ab12Cd34Ef56',)]",
        # parameters that are not a readable repr
        "[SQL: UPDATE users SET password=? WHERE id = ?]\n[parameters: (<object at 0x7f3a>, 3)]",
        # an update of harmless columns whose name merely contains a sensitive word
        "[SQL: UPDATE users SET password_changed_at=?, token_expires_at=? WHERE users.id = ?]\n"
        "[parameters: ('2024-05-01 12:00:00', '2024-06-01 12:00:00', 9)]",
        "INSERT INTO audit (action, status) VALUES ('reset_password', 'done')",
        "the values were inserted into the table",
    ],
)
def test_harmless_database_messages_are_kept(text: str) -> None:
    assert ENGINE.scrub_text(text) == text


def test_in_an_event_exception_and_scrubbing_twice() -> None:
    event: dict[str, Any] = {
        "exception": {"values": [{"type": "IntegrityError", "value": SQLITE}]},
        "message": f"DETAIL:  Key (api_token)=({HEXTOK}) already exists.",
    }
    ENGINE.scrub_in_place(event)
    assert PW not in str(event) and TOKEN not in str(event) and HEXTOK not in str(event)
    once = event["exception"]["values"][0]["value"]
    assert ENGINE.scrub_text(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "[SQL: x]\n[parameters: " + "(" * 5000,
        "[SQL: x]\n[parameters: ('" + "a" * 20000 + "')]",
        "[SQL: INSERT INTO t (a) VALUES (" + "(" * 3000 + "]\n[parameters: (1,)]",
        "[parameters: ]",
        "[SQL: ]\n[parameters: {'a': }]",
        "Key (a)=(",
    ],
)
def test_malformed_messages_never_raise(text: str) -> None:
    assert isinstance(ENGINE.scrub_text(text), str)


def test_a_line_of_many_key_details_costs_linear_time() -> None:
    import time

    text = "Key (a)=(" * 12000
    t0 = time.perf_counter()
    ENGINE.scrub_text(text)
    assert time.perf_counter() - t0 < 0.3


def test_a_marker_or_a_bare_name_in_the_parameters_is_not_a_value() -> None:
    """The SDK's own SQLAlchemy integration writes ``[parameters: [filtered]]``; scrubbing keeps it,
    and scrubbing a scrubbed message again changes nothing."""
    engine = scrubbers.compile_rules()
    marked = (
        "(sqlite3.OperationalError) no such table: t\n[SQL: SELECT * FROM t WHERE token = ?]\n[parameters: [filtered]]"
    )
    assert engine.scrub_text(marked) == marked
    raw = "(x) e\n[SQL: SELECT * FROM t WHERE token = ?]\n[parameters: ('Xk9mPq2vLtAbc',)]"
    once = engine.scrub_text(raw)
    assert "Xk9mPq2vLtAbc" not in once and engine.scrub_text(once) == once
