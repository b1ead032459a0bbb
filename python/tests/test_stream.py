"""stream() over /v1/ws with the sync client: files (WAV as is, others through ffmpeg) and PCM16 chunks in, partial
and final events out (relabel events with the diarization task); refusals are typed errors."""

import re
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SHORT, SHORT_2, SHORT_WORDS, STREAM_MAX_WER, TESTDATA, word_error_rate, words
from wire import assert_wire

import earshot
from earshot._audio import pcm16_file
from earshot.types import FinalEvent, PartialEvent, RelabelEvent

EN = {"tasks": ["transcribe"], "tra": {"language": "en"}}


def pcm_frames(path: Path, frames_per_chunk: int = 1600) -> Iterator[bytes]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (16000, 2, 1)
        while True:
            chunk = wav.readframes(frames_per_chunk)
            if not chunk:
                return
            yield chunk


def test_a_wav_file_streams_to_partials_then_finals_in_time_order(client: earshot.Earshot) -> None:
    events = list(client.stream(SHORT_2, settings=EN))
    for event in events:
        assert_wire(event, FinalEvent if event["type"] == "final" else PartialEvent)
    finals = [e["segment"] for e in events if e["type"] == "final"]
    text = words(" ".join(f["text"] for f in finals))
    assert "these thoughts affected" in text and "apprehension" in text
    assert all(a["start"] <= b["start"] for a, b in zip(finals, finals[1:]))
    types = [e["type"] for e in events]
    assert types.index("partial") < types.index("final")


def test_pcm16_chunks_stream(client: earshot.Earshot) -> None:
    finals = [e for e in client.stream(pcm_frames(SHORT), sample_rate=16000, settings=EN) if e["type"] == "final"]
    assert word_error_rate(SHORT_WORDS, " ".join(e["segment"]["text"] for e in finals)) <= STREAM_MAX_WER


def test_a_file_that_is_not_16_bit_mono_wav_is_converted_by_ffmpeg() -> None:
    sample_rate, frames = pcm16_file(TESTDATA / "stt" / "originals" / "jfk.mp3")
    pcm = b"".join(frames)
    assert sample_rate == 16000
    assert len(pcm) / 2 / sample_rate == pytest.approx(11.088, abs=0.1)
    # The same speech as the WAV: the level (mean absolute sample) agrees within a few percent.
    with wave.open(str(TESTDATA / "stt" / "en" / "jfk.wav"), "rb") as wav:
        reference = wav.readframes(wav.getnframes())
    assert _mean_abs(pcm) == pytest.approx(_mean_abs(reference), rel=0.1)


def _mean_abs(pcm: bytes) -> float:
    samples = memoryview(pcm).cast("h")
    return sum(abs(s) for s in samples) / len(samples)


def test_a_refused_start_frame_and_a_bad_key_are_typed_errors(client: earshot.Earshot, server_url: str) -> None:
    with pytest.raises(earshot.EarshotError) as refused:
        list(client.stream([bytes(3200)], sample_rate=12345))
    assert refused.value.code == "unsupported_audio"

    # The key is checked on the upgrade; the service refuses it with an error frame.
    with earshot.Earshot(server_url, "not-a-key") as stranger, pytest.raises(earshot.EarshotError) as unauthorized:
        list(stranger.stream(SHORT))
    assert unauthorized.value.code == "unauthorized"


def test_a_failure_reading_the_audio_ends_the_stream_with_that_error(client: earshot.Earshot) -> None:
    def broken() -> Iterator[bytes]:
        yield bytes(3200)
        raise OSError("the microphone went away")

    with pytest.raises(OSError, match="microphone went away"):
        list(client.stream(broken(), settings=EN))


def test_with_the_diarization_task_relabel_events_move_earlier_segments(client: earshot.Earshot) -> None:
    # The DEV conversation of four RAVDESS actors on which the TypeScript tests see relabels, built by their helper.
    build = (
        "const { devConversations } = require('./test/support/dev-conversations');"
        "process.stdout.write(devConversations().find((c) => c.name === 'conv4spk_s31').path)"
    )
    made = subprocess.run(["npx", "ts-node", "--transpile-only", "-e", build], cwd=REPO, check=True, capture_output=True, text=True)
    settings = {"tasks": ["transcribe", "diarization"], "tra": {"language": "en"}, "dia": {"num_speakers": 4}}
    events = list(client.stream(made.stdout.strip(), settings=settings))
    relabels = [e for e in events if e["type"] == "relabel"]
    assert relabels
    for relabel in relabels:
        assert_wire(relabel, RelabelEvent)
        final = next(i for i, e in enumerate(events) if e["type"] == "final" and e["segment"]["id"] == relabel["segment_id"])
        assert final < events.index(relabel)
        assert re.fullmatch(r"SPEAKER_\d\d", relabel["speaker"])
