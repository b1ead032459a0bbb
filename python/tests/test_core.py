"""Unit tests of the sans-IO core's retry rules (no server): answers are made up here, as the core sees them."""

import email.utils

import pytest

from earshot import EarshotApiError
from earshot._core import Answer, RetryPolicy, Send, Sleep, parse_retry_after, retry_delay_s, send


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after("-3") == 0
    assert parse_retry_after(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_delay_is_retry_after_capped_else_jittered_exponential_backoff() -> None:
    policy = RetryPolicy(max_retries=3, base_delay_s=0.5, max_delay_s=30)
    assert retry_delay_s(0, 12, policy) == 12
    assert retry_delay_s(0, 120, policy) == 30
    assert retry_delay_s(3, None, policy, rand=lambda: 1.0) == 4.0
    assert retry_delay_s(3, None, policy, rand=lambda: 0.25) == 1.0


def _drive(call, answers):
    """Runs a core call on made-up answers; returns what it yielded and its result."""
    yielded, reply = [], None
    try:
        while True:
            step = call.send(reply)
            yielded.append(step)
            reply = answers.pop(0) if isinstance(step, Send) else None
    except StopIteration as finished:
        return yielded, finished.value


BUSY = Answer(503, {"retry-after": "2", "x-request-id": "r1"}, '{"error":{"code":"overloaded","message":"busy"}}')
OK = Answer(200, {}, "{}")


def test_503_then_200_waits_retry_after_once() -> None:
    yielded, answer = _drive(send(Send("GET", "/v1/models"), RetryPolicy()), [BUSY, OK])
    assert [type(step).__name__ for step in yielded] == ["Send", "Sleep", "Send"]
    assert yielded[1] == Sleep(2.0)
    assert answer is OK


def test_retries_stop_at_max_retries_and_other_errors_are_not_retried() -> None:
    with pytest.raises(EarshotApiError) as exhausted:
        _drive(send(Send("GET", "/v1/models"), RetryPolicy(max_retries=1)), [BUSY, BUSY])
    error = exhausted.value
    assert (error.status, error.code, error.request_id, error.retry_after_s) == (503, "overloaded", "r1", 2)
    with pytest.raises(EarshotApiError) as not_found:
        _drive(send(Send("GET", "/v1/jobs/x"), RetryPolicy()), [Answer(404, {}, '{"error":{"code":"job_not_found","message":"no"}}')])
    assert not_found.value.code == "job_not_found"
    with pytest.raises(EarshotApiError) as proxy:
        _drive(send(Send("GET", "/"), RetryPolicy()), [Answer(502, {}, "<html>bad gateway</html>")])
    assert (proxy.value.code, proxy.value.message) == ("http_502", "<html>bad gateway</html>")


def test_realtime_pacing_sends_each_chunk_when_the_audio_before_it_has_played(monkeypatch: pytest.MonkeyPatch) -> None:
    from earshot import _stream

    clock = [100.0]
    monkeypatch.setattr(_stream.time, "monotonic", lambda: clock[0])
    pace = _stream._Pace(bytes_per_s=32000)  # 16 kHz PCM16
    assert pace.wait_s(bytes(3200)) == 0  # the first 100 ms goes at once
    clock[0] += 0.03
    assert pace.wait_s(bytes(6400)) == pytest.approx(0.07)  # due at 0.1 s
    clock[0] += 0.5  # behind schedule (a slow audio source): send at once
    assert pace.wait_s(bytes(3200)) == 0
