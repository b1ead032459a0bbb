"""The installed `earshot` command, run as a user would (a subprocess; URL and key from EARSHOT_URL/EARSHOT_API_KEY)."""

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import JFK, JFK_WORDS, SHORT, SHORT_WORDS, STREAM_MAX_WER, TWO_SPEAKERS, word_error_rate, words

EARSHOT = shutil.which("earshot")


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    assert EARSHOT is not None, "the earshot console script is not installed"
    done = subprocess.run([EARSHOT, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_transcribe_prints_text_and_writes_diarized_srt(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert JFK_WORDS in words(run(["transcribe", str(JFK), "--language", "en"], cli_env).stdout)

    out = tmp_path / "meeting.srt"
    done = run(["transcribe", str(TWO_SPEAKERS), "--diarize", "--format", "srt", "-o", str(out)], cli_env)
    assert done.stdout == ""
    srt = out.read_text()
    cues = srt.strip().split("\n\n")
    assert cues[0].startswith("1\n00:00:") and " --> " in cues[0]
    # Both speakers of the sample are tagged.
    assert "[SPEAKER_00]" in srt and "[SPEAKER_01]" in srt

    rttm = run(["transcribe", str(SHORT), "--format", "rttm"], cli_env).stdout.splitlines()
    assert rttm and all(line.startswith("SPEAKER ") and " SPEAKER_00 " in line for line in rttm)


def test_transcribe_as_a_job_shows_progress_and_prints_the_result(cli_env: dict[str, str]) -> None:
    done = run(["transcribe", str(JFK), "--language", "en", "--job", "--format", "json"], cli_env)
    response = json.loads(done.stdout)
    assert JFK_WORDS in words(response["result"]["tra"]["text"])
    # stderr is not a terminal here: one line per progress step, ending at 100%.
    progress = [line for line in done.stderr.splitlines() if line.startswith("job ")]
    assert progress and progress[-1].endswith(" 100%")

    vtt = run(["transcribe", str(JFK), "--language", "en", "--emotion", "--job", "--format", "vtt"], cli_env).stdout
    assert vtt.startswith("WEBVTT") and JFK_WORDS in words(vtt)


def test_stream_prints_finals(cli_env: dict[str, str]) -> None:
    done = run(["stream", str(SHORT), "--language", "en"], cli_env)
    assert word_error_rate(SHORT_WORDS, done.stdout) <= STREAM_MAX_WER


@pytest.mark.skipif(importlib.util.find_spec("sounddevice") is not None, reason="sounddevice is installed here")
def test_stream_mic_without_a_sound_library_says_what_to_install(cli_env: dict[str, str]) -> None:
    done = run(["stream", "--mic"], cli_env, check=False)
    assert done.returncode == 2
    assert "pip install sounddevice" in done.stderr


def test_jobs_list_get_cancel_retry(cli_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"these bytes are not audio")
    failed = run(["transcribe", str(broken), "--job"], cli_env, check=False)
    assert failed.returncode == 1
    assert "earshot: unsupported_audio:" in failed.stderr

    listing = run(["jobs", "list", "--status", "failed", "--limit", "100"], cli_env).stdout.splitlines()
    job_id = listing[0].split()[0]
    assert all(line.split()[1] == "failed" for line in listing)
    assert json.loads(run(["jobs", "get", job_id], cli_env).stdout)["status"] == "failed"
    assert json.loads(run(["jobs", "retry", job_id], cli_env).stdout)["status"] in ("queued", "processing")
    waited = run(["jobs", "wait", job_id], cli_env, check=False)
    assert waited.returncode == 1 and "unsupported_audio" in waited.stderr
    assert json.loads(run(["jobs", "cancel", job_id], cli_env).stdout) == {"job_id": job_id, "deleted": True, "was": "failed"}

    gone = run(["jobs", "get", job_id], cli_env, check=False)
    assert gone.returncode == 1
    assert gone.stderr.startswith("earshot: job_not_found:") and "(request " in gone.stderr


def test_the_url_flag_and_a_missing_file(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "EARSHOT_URL"}
    unreachable = run(["--url", "http://127.0.0.1:9", "jobs", "list"], env, check=False)
    assert unreachable.returncode == 1 and "connection_error" in unreachable.stderr
    missing = run(["transcribe", "/no/such/file.wav"], cli_env, check=False)
    assert missing.returncode == 1 and "No such file" in missing.stderr
