import pytest

from appconf import load_settings


def test_name_and_comments():
    assert load_settings("name = billing  # the service\n\n").name == "billing"


def test_unknown_keys_are_errors():
    with pytest.raises(ValueError, match="unknown settings: colour"):
        load_settings("colour = blue")


def test_missing_equals_names_the_line():
    with pytest.raises(ValueError, match="line 2"):
        load_settings("name = a\nbroken")
