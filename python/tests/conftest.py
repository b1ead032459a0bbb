"""Starts the real Earshot service (built from this checkout) once for the whole run, on a free port, with API keys.

The package under test is the installed wheel: these tests never put python/src on sys.path.
"""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import earshot

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO.parent / "shared" / "testdata"
JFK = TESTDATA / "stt" / "en" / "jfk.wav"
TWO_SPEAKERS = TESTDATA / "diarization" / "pyannote_sample.wav"
JFK_WORDS = "ask not what your country can do for you"
# Short clips for streaming, which decodes again and again as audio comes (partials).
SHORT = TESTDATA / "stt" / "en" / "timit_LDC93S1.wav"
SHORT_WORDS = "she had your dark suit in greasy wash water all year"
SHORT_2 = TESTDATA / "stt" / "en" / "librispeech_1221-135766-0002.wav"  # "Yet these thoughts affected Hester Prynne less…"

# Every scope, no rate limit; a second key allows one request a minute, to meet real 429s.
API_KEY = "python-client-tests"
LIMITED_KEY = "python-client-tests-limited"


def words(text: str) -> str:
    """Lower case, no punctuation, single spaces: for comparing transcripts."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edits (substitutions, insertions, deletions) over the reference's words, after ``words()``."""
    ref, hyp = words(reference).split(), words(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / len(ref)


# Streamed finals of SHORT with whisper-tiny encode the utterance at its length + 10 s (stream-hub.ts), which reads
# "duck suit and greasy wash for all year" (3 of 11 words wrong) where a file's 30 s window reads it right: stream
# tests bound the word error rate, as the TypeScript SDK's stream test does, instead of asking for one phrase.
STREAM_MAX_WER = 0.35


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    subprocess.run(["npm", "run", "build"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="earshot-python-tests-"))
    keys = work / "keys.json"
    keys.write_text(json.dumps([{"name": "tests", "key": API_KEY}, {"name": "limited", "key": LIMITED_KEY, "requests_per_min": 1}]))
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "MODELS_DIR": str(REPO.parent / "shared" / "models"),
        # These tests are about the client, not the model: whisper-tiny keeps them fast (the jest servers do the same).
        "DEFAULT_STT_MODEL": "whisper-tiny",
        "UPLOAD_DIR": str(work / "uploads"),
        "DATA_DIR": str(work / "data"),
        "LOG_LEVEL": "warn",
        "API_KEYS_FILE": str(keys),
        "RATE_LIMIT_PER_MIN": "0",
        # The URL-input test serves a clip from this machine.
        "ALLOW_PRIVATE_URLS": "true",
        # Files stream faster than real time: a whole conversation may wait unprocessed.
        "WS_MAX_BUFFERED_S": "120",
    }
    log = open(work / "server.log", "wb")
    service = subprocess.Popen(["node", "dist/src/main.js"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if service.poll() is not None:
                raise RuntimeError(f"the service exited ({service.returncode}): {(work / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service was not ready within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        service.terminate()
        service.wait(30)
        log.close()


@pytest.fixture(scope="session")
def client(server_url: str) -> Iterator[earshot.Earshot]:
    with earshot.Earshot(server_url, API_KEY) as session_client:
        yield session_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cli_env(server_url: str) -> "dict[str, str]":
    """The environment of an `earshot` command pointed at the test service."""
    return {**os.environ, "EARSHOT_URL": server_url, "EARSHOT_API_KEY": API_KEY}
