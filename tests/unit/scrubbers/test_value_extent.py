"""Where an assigned value ends: no piece of a password may stay behind its first odd character (issue 13).

Found on realistic data by a red-team pass: a JSON string with an escaped quote, an INI value
with a comma, a ``;``-separated connection string with spaces in the password, ODBC's braced
values, YAML block scalars, a ``(user, password)`` pair and database URLs with ``/``, ``?`` or
``#`` in the password each left part of the secret in the output.
"""

from __future__ import annotations

import pytest

import scrubbers

ENGINE = scrubbers.compile_rules()
F = "[Filtered]"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{"username": "bob", "password": "Xk9\\"mPq2vL!t-rest"}', '{"username": "bob", "password": "[Filtered]"}'),
        (
            "[database]\nhost = db1\npassword = s3cr3t,Tr0ub4dor&3xyz\n",
            "[database]\nhost = db1\npassword = [Filtered]\n",
        ),
        ("DB_PASSWORD=abc;Tr0ub4dor3xyz\nDB_HOST=db1", "DB_PASSWORD=[Filtered]\nDB_HOST=db1"),
        ("password={Tr0ub4dor&3xyz}", "password={[Filtered]}"),
        (
            "Server=tcp:db,1433;Initial Catalog=app;User ID=admin;Password=Blue Sky Rain 42!;Encrypt=True",
            "Server=tcp:db,1433;Initial Catalog=app;User ID=admin;Password=[Filtered];Encrypt=True",
        ),
        (
            "DRIVER={ODBC Driver 18};SERVER=db;UID=sa;PWD={Xk9m;Pq2vLtAbc};",
            "DRIVER={ODBC Driver 18};SERVER=db;UID=sa;PWD={[Filtered]};",
        ),
        ("database:\n  password: >-\n    Xk9mPq2vLtAbc\n", "database:\n  password: >-\n    [Filtered]\n"),
        ("password: |\n  Xk9mPq2vLtAbc\n", "password: |\n  [Filtered]\n"),
        ('requests.get(url, auth=("api", "Xk9mPq2vLtAbc"))', 'requests.get(url, auth=("api", "[Filtered]"))'),
        (
            "DATABASE_URL=postgres://app:Xk9m#Pq2vLtAbc@db:5432/app",
            "DATABASE_URL=postgres://app:[Filtered]@db:5432/app",
        ),
        ("redis://default:Xk9m/Pq2vLtAbc@cache:6379/0", "redis://default:[Filtered]@cache:6379/0"),
        ("amqp://guest:Xk9m?Pq2vLtAbc@rabbit:5672//", "amqp://guest:[Filtered]@rabbit:5672//"),
    ],
)
def test_the_whole_value_goes(text: str, want: str) -> None:
    assert ENGINE.scrub_text(text) == want
    assert ENGINE.scrub_text(want) == want  # idempotent


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the next field after a separator is not part of the value
        ("password=x1, user=bob", "password=[Filtered], user=bob"),
        ("password=x1,user=bob", "password=[Filtered],user=bob"),
        ("password=x1;host=db", "password=[Filtered];host=db"),
        # code and templates after the name stay as they are
        ("password: {{ vault_pw }}", "password: {{ vault_pw }}"),
        ("auth=(None, None)", "auth=(None, None)"),
        ("key: >-\n", "key: >-\n"),
        ("see postgres://u:p@h1/x and mail bob@example.com", "see postgres://u:[Filtered]@h1/x and mail [Filtered]"),
    ],
)
def test_neighbours_are_kept(text: str, want: str) -> None:
    assert ENGINE.scrub_text(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "/login?next=%252Fcb%253Faccess_token%253DXk9mPq2vLtAbc123%2526x%253D1",
            "/login?next=%252Fcb%253Faccess_token%253D[Filtered]%2526x%253D1",
        ),
        ("email=ana%40example.org&next=%2Fcart", "email=[Filtered]&next=%2Fcart"),
        ("a%2525b", "a%2525b"),
    ],
)
def test_text_encoded_once_or_twice_is_scanned_decoded(text: str, want: str) -> None:
    """A redirect target inside a URL is percent-encoded twice; the redaction lands on the encoded span."""
    assert ENGINE.scrub_text(text) == want
