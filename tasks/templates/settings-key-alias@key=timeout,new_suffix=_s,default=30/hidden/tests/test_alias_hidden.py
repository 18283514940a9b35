import warnings

import pytest

from appconf import Settings, load_settings

NEW = "timeout_s"
OLD = "timeout"


def test_new_key():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = load_settings(f"{NEW} = 7")
    assert getattr(settings, NEW) == 7
    assert not hasattr(settings, OLD)


def test_default_is_kept():
    assert getattr(load_settings(""), NEW) == 30
    assert getattr(Settings(), NEW) == 30


def test_old_key_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning) as caught:
        settings = load_settings(f"{OLD} = 4")
    assert getattr(settings, NEW) == 4
    message = str(caught[0].message)
    assert OLD in message and NEW in message


def test_new_key_wins_over_old():
    with pytest.warns(DeprecationWarning):
        settings = load_settings(f"{OLD} = 1\n{NEW} = 2\n")
    assert getattr(settings, NEW) == 2


@pytest.mark.parametrize("key", [NEW, OLD])
def test_values_are_still_checked(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            load_settings(f"{key} = -1")


def test_unknown_keys_still_rejected():
    with pytest.raises(ValueError, match="unknown settings"):
        load_settings(f"{NEW}x = 1")
