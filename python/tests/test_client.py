"""The sync client against the real service: every kind of audio input, the output formats, all tasks, typed errors,
API keys, and retries of a real 429 after its Retry-After."""

import functools
import http.server
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import API_KEY, JFK, JFK_WORDS, LIMITED_KEY, SHORT, TESTDATA, words
from wire import assert_wire

import earshot
from earshot.types import HealthReport, ModelList, ProcessResponse

EN = {"settings": {"tasks": ["transcribe"], "tra": {"language": "en"}}}


def test_the_package_is_the_installed_wheel() -> None:
    # The tests import the built wheel from site-packages, never python/src.
    assert "site-packages" in Path(earshot.__file__).parts
    assert (Path(earshot.__file__).parent / "py.typed").exists()


def test_process_a_path_answers_the_full_response(client: earshot.Earshot) -> None:
    response = client.process(JFK, EN)
    assert_wire(response, ProcessResponse)
    assert JFK_WORDS in words(response["result"]["tra"]["text"])
    assert response["audio"]["duration_s"] == pytest.approx(11.0, abs=0.1)


class OneShotReader(io.RawIOBase):
    """A pipe-like file object: readable once, not seekable."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "bytearray | memoryview") -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_bytes_file_objects_and_one_shot_streams_are_uploaded(client: earshot.Earshot) -> None:
    data = SHORT.read_bytes()
    progress = []
    assert "dark suit" in words(client.transcribe(data, {"language": "en"})["text"])
    with open(SHORT, "rb") as file:
        answer = client.process(file, EN, on_upload_progress=lambda sent, total: progress.append((sent, total)))
    assert "dark suit" in words(answer["result"]["tra"]["text"])
    assert progress[-1] == (len(data), len(data))
    assert all(a[0] < b[0] for a, b in zip(progress, progress[1:]))
    assert "dark suit" in words(client.transcribe(OneShotReader(data), {"language": "en"})["text"])


@pytest.fixture(scope="module")
def audio_site() -> Iterator[str]:
    """An HTTP server on this machine serving the test audio (the test service allows private URLs)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(TESTDATA))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()


def test_a_url_is_fetched_by_the_service(client: earshot.Earshot, audio_site: str) -> None:
    url = f"{audio_site}/{SHORT.relative_to(TESTDATA).as_posix()}"
    assert "dark suit" in words(client.transcribe(url, {"language": "en"})["text"])
    job = client.wait_for_job(client.submit(url, EN), poll_interval=0.1)
    assert "dark suit" in words(job["result"]["result"]["tra"]["text"])


def test_text_formats_come_back_as_strings_and_render_matches_them(client: earshot.Earshot) -> None:
    response = client.process(JFK, {"settings": {"tasks": ["transcribe", "diarization", "emotion"], "tra": {"language": "en"}}})
    assert_wire(response, ProcessResponse)
    assert response["result"]["dia"]["num_speakers"] >= 1
    assert response["result"]["emo"]["items"]
    assert response["result"]["segments"][0]["speaker"].startswith("SPEAKER_")

    srt = client.process(SHORT, {**EN, "format_output": "srt"})
    assert isinstance(srt, str) and srt.startswith("1\n00:00:0") and "dark suit" in words(srt)
    vtt = client.process(SHORT, {**EN, "format_output": "vtt"})
    assert vtt.startswith("WEBVTT")
    text = client.process(SHORT, {**EN, "format_output": "text"})
    assert "dark suit" in words(text)
    # The service's writers, on a result the caller already has: speaker tags from the diarized run.
    assert "[SPEAKER_00]" in client.render(response, "text")
    assert "<v SPEAKER_00>" in client.render(response, "vtt")


def test_errors_are_typed_with_code_status_and_request_id(client: earshot.Earshot, server_url: str) -> None:
    with pytest.raises(earshot.EarshotApiError) as refused:
        client.process(b"these bytes are not audio", EN)
    assert (refused.value.status, refused.value.code) == (415, "unsupported_audio")
    assert refused.value.request_id and refused.value.request_id in str(refused.value)

    with pytest.raises(earshot.EarshotApiError) as impossible:
        client.process(JFK, {"settings": {"tasks": ["transcribe"], "tra": {"model": "whisper-enormous"}}})
    assert (impossible.value.status, impossible.value.code) == (404, "model_not_found")

    with earshot.Earshot(server_url, "not-a-key") as stranger, pytest.raises(earshot.EarshotApiError) as unauthorized:
        stranger.models()
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")

    with earshot.Earshot("http://127.0.0.1:9", timeout=5) as nowhere, pytest.raises(earshot.EarshotConnectionError) as unreachable:
        nowhere.health()
    assert unreachable.value.code == "connection_error"


def test_health_and_models(client: earshot.Earshot) -> None:
    health = client.health()
    assert_wire(health, HealthReport)
    models = client.models()
    assert_wire(models, ModelList)
    assert models["default_model"] in {m["id"] for m in models["data"]}


def test_a_429_is_retried_after_retry_after_then_raised(server_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # The limited key allows one request a minute: the second is refused with Retry-After (seconds until the next
    # minute). The client waits Retry-After, capped by max_retry_delay (kept short here), and retries twice.
    with earshot.Earshot(server_url, LIMITED_KEY, max_retries=2, max_retry_delay=0.2) as limited:
        limited.models()
        with caplog.at_level(logging.INFO, logger="earshot"), pytest.raises(earshot.EarshotApiError) as refused:
            limited.models()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.retry_after_s is not None and refused.value.retry_after_s >= 1
    retries = [r.getMessage() for r in caplog.records if r.name == "earshot"]
    assert len(retries) == 2
    assert all("429 rate_limited" in line and "in 0.20 s" in line for line in retries)


def test_api_key_comes_from_the_environment(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_URL", server_url)
    monkeypatch.setenv("EARSHOT_API_KEY", API_KEY)
    with earshot.Earshot() as from_env:
        assert from_env.url == server_url
        assert from_env.models()["object"] == "list"
