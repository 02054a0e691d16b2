"""Secrets that leaked because a name, flag or phrase was not recognised, and the look-alikes that must survive.

Every secret here is synthetic: random characters in the documented shape.
"""

from __future__ import annotations

from typing import Any

import pytest

import scrubbers

F = "[Filtered]"
PW = "Xk9mPq2vLtAbc"
TOKEN = "Qm7vR2xLp9TzWc4NbY8sKd3HfJ6gAe1U"


def scrub(event: dict[str, Any]) -> dict[str, Any]:
    return scrubbers.scrub_event(event)


def message(s: str) -> str:
    out = scrub({"logentry": {"message": s}})["logentry"]["message"]
    assert isinstance(out, str)
    return out


def extra(key: str, value: Any) -> Any:
    return scrub({"extra": {key: value}})["extra"][key]


class TestFieldNames:
    @pytest.mark.parametrize(
        "key",
        [
            "SECRET_KEY_BASE",
            "secret_key_base",
            "mnemonic",
            "seed_phrase",
            "recovery_codes",
            "backup_codes",
            "client_assertion",
            "code_verifier",
            "otp_code",
            "SLACK_SIGNING_SECRET",
            "pin",
            # the word for password in other languages
            "senha",
            "kennwort",
            "passwort",
            "contrasena",
            "contraseña",
            "motdepasse",
            "mot_de_passe",
            "haslo",
            "hasło",
            "wachtwoord",
            "parola",
            "salasana",
            "lösenord",
            "user_lösenord",
            "пароль",
            # long-standing names that must stay filtered
            "db_password",
            "AUTHTOKEN",
            "webhooksecret",
            "newPassword2",
            "x_api_key",
            "private_key",
            "secret_key",
            "signing_key",
            "encryption_key",
            "master_key",
            "license_key",
            "login_pass",
            "user_session",
        ],
    )
    def test_sensitive_name_filters_its_value(self, key: str) -> None:
        assert extra(key, PW) == F

    def test_list_of_recovery_codes_is_filtered_whole(self) -> None:
        assert extra("backup_codes", ["83749201", "19283746"]) == F

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            # an ordinary word that ends in a sensitive name
            ("possession", "54%"),
            ("concession", "student"),
            ("accession", "NM_000546.6"),
            ("succession", "ordered"),
            # qualifiers that make "pass" an ordinary pass
            ("boarding_pass", "available"),
            ("first_pass", "completed"),
            ("render_pass", "shadow_map_2"),
            # qualifiers that make "key" public or structural (the value is token-shaped, still kept)
            ("public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH3nHmizlbteWjt2TFZTCLGszSq1u8Pfdy3NO deploy@ci"),
            ("publishable_key", "pk_live_08ZHjjqPH8CYulqJEsNcK87T"),
            ("site_key", "6Lcsw1gWfd3no2LR0-voWXv5VjrRX_SF9V-r2deS"),
            ("cache_key", "views.decorators.cache.cache_page.ProductList.GET.d41d8cd98f00b204e9800998ecf8427e"),
            ("object_key", "media/UserUploads/2024/06/IMG20240601Final"),
            ("partition_key", "TenantId-000123-OrdersX9"),
            ("sort_key", "CreatedAt2024#Ord3rZ9qP1"),
            ("foreign_key", "fk_orders_customer_id_2024"),
            ("idempotency_key", "2696b3a0134458ba6b4570e1Ab"),
            ("primary_key", "id"),
            ("pin_code", "94103"),
            ("parolas", "ciao"),
        ],
    )
    def test_look_alike_name_keeps_its_value(self, key: str, value: str) -> None:
        assert extra(key, value) == value

    @pytest.mark.parametrize(
        "line",
        [f"пароль={PW}", f"{{'contraseña': '{PW}'}}", f"senha: {PW}", f"Kennwort={PW}", f'{{"hasło": "{PW}"}}'],
    )
    def test_non_english_password_name_in_text(self, line: str) -> None:
        out = message(line)
        assert PW not in out
        assert F in out

    @pytest.mark.parametrize(
        "line", ["resenha: Muito2bom!", "{'possession': 'ball42X'}", "boarding_pass=Gate12B", "render_pass: Shadow2x"]
    )
    def test_look_alike_name_in_text(self, line: str) -> None:
        assert message(line) == line

    @pytest.mark.parametrize("key", ["refresh", "access", "license", "SLACK_SIGNING", "aes_key"])
    def test_weak_name_filters_a_token(self, key: str) -> None:
        assert extra(key, TOKEN) == F

    @pytest.mark.parametrize(("key", "value"), [("refresh", "1"), ("access", "read"), ("license", "MIT")])
    def test_weak_name_keeps_a_word(self, key: str, value: str) -> None:
        assert extra(key, value) == value


class TestQueryNames:
    @pytest.mark.parametrize(
        "query",
        [
            "appid=d1b53588286c169b83e53e30ffc61d2f",
            f"appid={TOKEN}",
            "ticket=ST-1-aBcD3fGhIjKlMnOpQrSt-cas01",
            f"magic={TOKEN}",
            f"license={TOKEN}",
            f"refresh={TOKEN}",
            "invite_code=X7K9P2",
            "otp_code=482913",
            "otp=482913",
            "pin=4821",
            f"code_verifier={TOKEN}",
            f"se_sig={TOKEN}",
            f"api_sig={TOKEN}",
            f"X-Amz-Signature={TOKEN}",
            f"auth={TOKEN}",
            f"apikey={TOKEN}",
            "code=SplxlOBeZQQYbYS6WxSbIA",
            "code=4f2a9c1e8b7d6a5f3e2d",
        ],
    )
    @pytest.mark.parametrize("where", ["query_string", "message"])
    def test_credential_query_value_is_filtered(self, query: str, where: str) -> None:
        name, value = query.split("=", 1)
        if where == "query_string":
            out = scrub({"request": {"url": "https://api.example.com/v1/items", "query_string": f"page=2&{query}"}})
            text = str(out["request"])
        else:
            text = message(f"404 Client Error: Not Found for url: https://api.example.com/v1/items?page=2&{query}")
        assert value not in text
        assert name in text

    @pytest.mark.parametrize(
        "url",
        [
            "https://store.steampowered.com/api/appdetails?appid=730",
            "https://helpdesk.example.com/view?ticket=4711",
            "https://helpdesk.example.com/view?ticket=TCK-2024-042",
            "https://app.example.com/feed?refresh=1",
            "https://app.example.com/feed?refresh=true",
            "https://pkg.example.com/search?license=MIT",
            "https://pkg.example.com/search?license=Apache-2.0",
            "https://shop.example.com/checkout?code=SUMMER2024",
            "https://shop.example.com/cart?code=WELCOME10",
        ],
    )
    def test_ordinary_query_value_is_kept(self, url: str) -> None:
        assert message(f"GET {url} 200") == f"GET {url} 200"


class TestCommandLines:
    @pytest.mark.parametrize(
        "line",
        [
            f"sshpass -p '{PW}' ssh deploy@bastion uptime",
            f"sshpass -v -p {PW} rsync -a src/ host:/dst",
            f"docker login -u ci-bot -p {PW} registry.example.com",
            f"docker login registry.example.com --password {PW}",
            f"redis-cli -h cache -p 6380 -a {PW} PING",
            f"ldapsearch -x -D cn=admin,dc=ex,dc=com -w {PW} -b dc=ex,dc=com",
            f"ldapmodify -H ldap://ldap -D cn=admin -w {PW} -f change.ldif",
            f"smbclient //fs/share -U bob%{PW} -c ls",
            f"zip -r -P {PW} backup.zip data.db",
            f"unzip -P {PW} backup.zip",
            f"openssl enc -aes-256-cbc -salt -in a -out b -k {PW}",
            f"openssl rsa -passin pass:{PW} -in key.pem",
            f"openssl enc -pass pass:{PW} -in a",
            f"htpasswd -b /etc/nginx/.htpasswd admin {PW}",
            f"htpasswd -bc /etc/nginx/.htpasswd admin {PW}",
            f"htpasswd -nb admin {PW} > out",
            f"curl --oauth2-bearer {PW} https://api.example.com",
            f"mysqldump -uroot -p'{PW}' app > /tmp/app.sql",
            f'mysql -uroot -p"{PW}" -e "select 1"',
            f"mysql -uroot -p{PW} app",
            f"Command '['sshpass', '-p', '{PW}', 'rsync', '-a', 'src/', 'host:/dst']' returned non-zero exit status 5.",
            f"Command '['redis-cli', '-h', 'cache', '-a', '{PW}', 'PING']' returned non-zero exit status 1.",
            f"curl -u bob:{PW} https://api.example.com",
        ],
    )
    def test_password_flag_value_is_filtered(self, line: str) -> None:
        out = message(line)
        assert PW not in out
        assert F in out

    @pytest.mark.parametrize(
        "line",
        [
            "ls -a /tmp",
            "grep -w needle haystack.txt",
            "cp -P link target",
            "ssh -p 2222 deploy@bastion",
            "ssh -p2222 deploy@bastion",
            "redis-cli -p 6379 INFO",
            "docker run -p 8080:80 nginx",
            "sshpass -f pwfile ssh -p 2222 host",
            "sshpass -e ssh -p 2222 host",
            "openssl rsa -passin env:KEYPASS -in key.pem",
            "htpasswd -c /etc/nginx/.htpasswd admin",
            "docker run -u 1000:1000 -v /data:/data app:latest",
            "docker exec -u www-data:www-data app php artisan migrate",
            "terraform apply -parallelism=20 -auto-approve",
            "go test -parallel=4 ./...",
            "ffmpeg -i in.mp4 -c:v libx264 -b:v 2M -pass 2 out.mp4",
            "gcc -pthread -o app main.c",
        ],
    )
    def test_look_alike_command_is_kept(self, line: str) -> None:
        assert message(line) == line

    def test_scrubbing_twice_changes_nothing(self) -> None:
        once = message(f"htpasswd -b /etc/nginx/.htpasswd admin {PW}")
        assert once == "htpasswd -b /etc/nginx/.htpasswd admin [Filtered]"
        assert message(once) == once


class TestPasswordPhrases:
    @pytest.mark.parametrize(
        "line",
        [
            f"Your new password is: {PW}",
            f"Generated temporary password for alice: {PW}",
            f"Reset password for user 42 to {PW}",
            f"password changed to {PW} by admin",
            f"temp pw {PW} expires in 24h",
            f"login failed with password {PW}",
        ],
    )
    def test_password_after_phrase_is_filtered(self, line: str) -> None:
        out = message(line)
        assert PW not in out
        assert F in out

    @pytest.mark.parametrize(
        "line",
        [
            "password reset link sent",
            "password_attempts=3",
            "password for alice2024 expired",
            "Reset password for user 42 requested",
            "Your new password is: required",
            "pw 2024-01-01 rotation",
        ],
    )
    def test_ordinary_phrase_is_kept(self, line: str) -> None:
        assert message(line) == line


class TestAuthorizationSchemes:
    @pytest.mark.parametrize(
        ("scheme", "token"),
        [
            ("SSWS", "00CAqdL_2vAbc9dEf8GhIjK7LmN6oPqR5sTuV"),
            ("Bot", "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
            ("Splunk", "4d5c2a1e-6233-4abc-9def-0123456789ab"),
            ("GenieKey", "ed5cde97-1234-5678-9abc-def012345678"),
            ("Klaviyo-API-Key", "pk_c2220d84abcdef0123456789"),
            ("Zoho-oauthtoken", "1000.3f0b4cd0a1b2c3d4e5f6.a7b8c9d0e1f2a3b4c5d6"),
            ("OAuth", "1V7PZSV1xYz2AbCdEf3GhIj"),
            ("MAC", 'id="xlGF1WOB6piJh3ZOll5r"'),
        ],
    )
    @pytest.mark.parametrize("form", ["Authorization: {}", "curl -sS -H \"Authorization: {}\" https://api.example.com"])
    def test_token_after_any_scheme_is_filtered(self, scheme: str, token: str, form: str) -> None:
        out = message(form.format(f"{scheme} {token}"))
        secret = token.split('"')[1] if '"' in token else token
        assert secret not in out

    @pytest.mark.parametrize(
        "line",
        [
            "Authorization header missing",
            "Authorization failed: user lacks permission",
            'WWW-Authenticate: Basic realm="Restricted Area"',
        ],
    )
    def test_authorization_prose_is_kept(self, line: str) -> None:
        assert message(line) == line


class TestIntegerCardNumbers:
    @pytest.mark.parametrize(
        ("key", "number"),
        [("card", 4111111111111111), ("cc_number", 5555555555554444), ("amex", 378282246310005)],
    )
    def test_int_card_number_is_filtered(self, key: str, number: int) -> None:
        out = scrub({"extra": {key: number, "nested": {"x": number}, "items": [number]}})
        assert out["extra"][key] == F
        assert out["extra"]["nested"]["x"] == F
        assert out["extra"]["items"] == [F]
        assert out["_meta"]["extra"][key][""]["rem"][0][0] == "credit-card"

    def test_int_card_number_in_frame_vars_is_filtered(self) -> None:
        frame = {"function": "pay", "vars": {"card": 4111111111111111}}
        out = scrub({"exception": {"values": [{"type": "E", "value": "x", "stacktrace": {"frames": [frame]}}]}})
        assert out["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["card"] == F

    @pytest.mark.parametrize(
        "number",
        [
            1717171717123,  # a millisecond timestamp
            4111111111111112,  # a card prefix that fails Luhn
            1234567890123456789,  # a snowflake id
            10**25,
            99_999_999_999,
            42,
        ],
    )
    def test_ordinary_int_is_kept(self, number: int) -> None:
        out = scrub({"extra": {"n": number, "items": [number]}})
        assert out["extra"] == {"n": number, "items": [number]}

    def test_bool_is_not_a_number(self) -> None:
        assert scrub({"extra": {"flag": True}})["extra"]["flag"] is True


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("X-Hub-Signature-256: sha256=9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928", "9f8e7d6c5b4a3928"),
        ("api_key_2=Xk9mPq2vLt81", "Xk9mPq2vLt81"),
    ],
)
def test_a_numbered_name_in_text_is_still_the_name(text: str, secret: str) -> None:
    """A version or index after a sensitive name (``-256``, ``_2``) does not hide it."""
    assert secret not in scrubbers.compile_rules().scrub_text(text)


@pytest.mark.parametrize(
    ("key", "value"),
    [("ssn", "078051120"), ("social_security_number", "219099999"), ("tax_id", "12-3456789"), ("tin", "123456789"),
     ("passport_number", "X1234567"), ("account_number", "000123456789"), ("routing_number", "021000021")],
)  # fmt: skip
def test_national_ids_and_bank_accounts_by_name(key: str, value: str) -> None:
    """Numbers with no telling shape (an SSN without dashes) are caught by their field name, PII allowed or not."""
    for pii in (False, True):
        event = {"extra": {key: value, "min_ssn_age": 18, "ssn_last4": "1234"}}
        scrubbers.compile_rules(send_default_pii=pii).scrub_in_place(event)
        assert event["extra"] == {key: "[Filtered]", "min_ssn_age": 18, "ssn_last4": "1234"}


def test_a_value_cut_short_by_a_space_is_taken_whole_when_a_pattern_sees_more() -> None:
    """``iban=DE89 3704 ...``: the name's value ends at the first space, the IBAN does not."""
    out = scrubbers.compile_rules().scrub_text("iban=DE89 3704 0044 0532 0130 00&name=x")
    assert out == "iban=[Filtered]&name=x"
