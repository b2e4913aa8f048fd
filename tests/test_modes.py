"""What the button selects, with plain values: the mode, and the language a short press moves to."""

import pytest

from polybot_device.config import parse_config
from polybot_device.modes import Selection


def selection(languages, mode="conversation"):
    return Selection.from_config(parse_config({"languages": languages, "mode": mode}))


def test_a_conversation_starts_between_the_home_language_and_the_next_one():
    s = selection(["es", "en", "fr"])
    assert (s.mode, s.home, s.other) == ("conversation", "es", "en")
    assert s.announced_language == "en"
    assert not s.uses_translation_endpoint


def test_in_a_conversation_a_short_press_changes_the_partner_language_and_keeps_home():
    s = selection(["es", "en", "fr"])
    assert [s.next_language() for _ in range(4)] == ["fr", "en", "fr", "en"]
    assert s.home == "es"


def test_one_way_starts_on_the_first_language_and_a_short_press_goes_through_all_of_them():
    s = selection(["es", "en", "fr"], mode="one-way")
    assert s.announced_language == "es"
    assert [s.next_language() for _ in range(4)] == ["en", "fr", "es", "en"]


def test_a_long_press_goes_conversation_one_way_interpreter_and_round_again():
    s = selection(["es", "en"])
    assert [s.next_mode() for _ in range(4)] == ["one-way", "interpreter", "conversation", "one-way"]


def test_only_the_interpreter_uses_the_translation_endpoint():
    s = selection(["es", "en"], mode="interpreter")
    assert s.uses_translation_endpoint
    s.next_mode()
    assert s.mode == "conversation" and not s.uses_translation_endpoint


def test_with_one_language_a_long_press_skips_conversation():
    s = selection(["de"], mode="one-way")
    assert [s.next_mode() for _ in range(3)] == ["interpreter", "one-way", "interpreter"]


def test_the_language_chosen_in_one_mode_is_kept_when_the_mode_changes():
    s = selection(["es", "en", "fr"], mode="one-way")
    s.next_language()  # target en
    s.next_mode()  # interpreter
    assert s.announced_language == "en"


@pytest.mark.parametrize("new_languages,other,target", [
    (["es", "en", "fr", "de"], "fr", "fr"),  # both choices are still on the list: kept
    (["es", "de"], "de", "es"),  # neither is: the config's own starting point
])
def test_a_reload_keeps_a_choice_still_on_the_list_and_the_configs_mode_wins(new_languages, other, target):
    s = selection(["es", "en", "fr"])
    s.next_language()  # conversation partner: fr
    s.next_mode()  # one-way...
    s.next_language()
    s.next_language()  # ...target: fr
    s.reload(parse_config({"languages": new_languages, "mode": "conversation"}))
    assert (s.mode, s.languages, s.other, s.target) == ("conversation", tuple(new_languages), other, target)
