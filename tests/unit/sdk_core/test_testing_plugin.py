"""The pytest plugin users get with the package: ``capture_events`` and ``assert_no_secrets``."""

from __future__ import annotations

import pytest

from sdk_core.testing import assert_no_secrets

pytest_plugins = ["pytester"]


def test_plugin_fixture_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sdk_core
        from sdk_core.testing import assert_no_secrets

        CARD = "4111 1111 1111 1111"

        def checkout(card):
            raise ValueError(f"declined {card}")

        def test_errors_never_leak_the_card(capture_events):
            try:
                checkout(CARD)
            except ValueError:
                sdk_core.capture_exception()
            sdk_core.flush()
            assert len(capture_events) == 1
            assert capture_events[0]["exception"]["values"][0]["type"] == "ValueError"
            assert_no_secrets(capture_events, [CARD])

        def test_events_are_after_before_send(capture_events):
            sdk_core.capture_message("hello")
            sdk_core.flush()
            assert [e["logentry"]["message"] for e in capture_events] == ["hello"]

        def test_a_leak_is_reported_with_its_path(capture_events):
            sdk_core.set_extra("note", "token abcdefgh12345678 here")
            sdk_core.capture_message("x")
            sdk_core.flush()
            assert_no_secrets(capture_events, ["abcdefgh12345678"])
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: event 0: secret fragment*leaked at extra.note*"])


def test_assert_no_secrets_finds_parts_and_names_paths() -> None:
    events = [{"exception": {"values": [{"value": "key=ABCDEFGHIJ"}]}, "extra": {"n": 1}}]
    with pytest.raises(AssertionError, match=r"exception\.values\.0\.value"):
        assert_no_secrets(events, ["xxABCDEFGHIJyy"])  # an 8-character piece is enough
    assert_no_secrets(events, ["nothing-like-it"])
    with pytest.raises(AssertionError, match=r"extra\.ABCDEFGH12 \(a key\)"):
        assert_no_secrets([{"extra": {"ABCDEFGH12": 1}}], ["ABCDEFGH12"])


def test_assert_no_secrets_ignores_meta_remarks() -> None:
    assert_no_secrets([{"_meta": {"x": {"": {"rem": [["password-field", "s"]]}}}}], ["password-field"])
