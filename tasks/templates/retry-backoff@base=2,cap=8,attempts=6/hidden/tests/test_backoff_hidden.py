import pytest

from retrying import RetryPolicy

BASE, CAP, ATTEMPTS = 2, 8, 6


def expected(base, cap, attempts):
    return [float(min(base * 2 ** i, cap)) for i in range(attempts - 1)]


def test_defaults():
    policy = RetryPolicy()
    assert (policy.base_delay, policy.max_delay, policy.max_attempts) == (BASE, CAP, ATTEMPTS)
    assert policy.delays() == expected(BASE, CAP, ATTEMPTS)


def test_cap_applies():
    assert max(RetryPolicy(max_attempts=12).delays()) == CAP


def test_single_attempt_never_waits():
    assert RetryPolicy(max_attempts=1).delays() == []


def test_run_sleeps_between_attempts_only():
    slept = []
    calls = []

    def always_down():
        calls.append(1)
        raise TimeoutError("gateway")

    policy = RetryPolicy(sleep=slept.append)
    with pytest.raises(TimeoutError):
        policy.run(always_down)
    assert len(calls) == ATTEMPTS
    assert slept == expected(BASE, CAP, ATTEMPTS)


def test_success_stops_waiting():
    slept = []
    state = {"n": 0}

    def second_time_lucky():
        state["n"] += 1
        if state["n"] == 1:
            raise ConnectionError("blip")
        return 42

    assert RetryPolicy(sleep=slept.append).run(second_time_lucky) == 42
    assert slept == [float(BASE)]


def test_non_retryable_errors_do_not_wait():
    slept = []

    def broken():
        raise ValueError("bad request")

    with pytest.raises(ValueError):
        RetryPolicy(sleep=slept.append).run(broken)
    assert slept == []
