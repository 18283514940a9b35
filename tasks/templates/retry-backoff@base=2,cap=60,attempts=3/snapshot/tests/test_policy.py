import pytest

from retrying import RetryPolicy


def flaky(failures, exc=ConnectionError):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= failures:
            raise exc("down")
        return "ok"

    return call, calls


def test_succeeds_after_failures():
    call, calls = flaky(1)
    assert RetryPolicy(max_attempts=2).run(call) == "ok"
    assert len(calls) == 2


def test_other_errors_are_not_retried():
    call, calls = flaky(1, exc=KeyError)
    with pytest.raises(KeyError):
        RetryPolicy(max_attempts=3).run(call)
    assert len(calls) == 1
