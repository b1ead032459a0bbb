"""Audio inputs: the multipart upload of /v1/process, and PCM16 frames for /v1/ws."""

import io
import os
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Callable, Optional, Union

from .errors import EarshotError

# What `process()` and `submit()` take: a file path, an http(s) URL the service fetches itself, bytes, or a binary
# file object (uploaded from its current position).
AudioSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

# Called with the bytes sent so far and the total (None when unknown) as an upload goes.
UploadProgress = Callable[[int, Optional[int]], None]

_URL = re.compile(r"^https?://", re.IGNORECASE)


class Upload:
    """One audio input as multipart fields, built afresh for every attempt of a request."""

    def __init__(self, audio: AudioSource, on_progress: Optional[UploadProgress] = None) -> None:
        self._audio = audio
        self._on_progress = on_progress
        self.url: Optional[str] = audio if isinstance(audio, str) and _URL.match(audio) else None
        self._start: Optional[int] = 0
        self.replayable = True
        if isinstance(audio, (str, os.PathLike)):
            self.filename = os.path.basename(os.fspath(audio))
        elif isinstance(audio, (bytes, bytearray, memoryview)):
            self.filename = "audio"
        else:
            # A file object: sent from where it stands now; it can be sent again only if it can be rewound.
            name = getattr(audio, "name", None)
            self.filename = os.path.basename(name) if isinstance(name, str) else "audio"
            self._start = _tell(audio)
            self.replayable = self._start is not None

    @contextmanager
    def files(self, request_json: str) -> Iterator[dict[str, Any]]:
        """httpx's multipart ``files`` for one attempt: text fields as ``(None, value)``, the audio as a file."""
        parts: dict[str, Any] = {"request_json": (None, request_json)}
        if self.url is not None:
            parts["audio_url"] = (None, self.url)
            yield parts
            return
        audio = self._audio
        opened: Optional[IO[bytes]] = None
        source: IO[bytes]
        if isinstance(audio, (str, os.PathLike)):
            source = opened = open(audio, "rb")
            start = 0
        elif isinstance(audio, (bytes, bytearray, memoryview)):
            source, start = io.BytesIO(audio), 0
        else:
            source, start = audio, self._start or 0
        try:
            parts["audio"] = (self.filename, _CountingReader(source, start, self.replayable, self._on_progress), "application/octet-stream")
            yield parts
        finally:
            if opened is not None:
                opened.close()


def _tell(file: IO[bytes]) -> Optional[int]:
    try:
        return file.tell() if file.seekable() else None
    except (AttributeError, OSError):
        return None


class _CountingReader:
    """A file seen from ``start`` on, counting what httpx reads; rewinding is refused for a one-shot stream."""

    def __init__(self, raw: IO[bytes], start: int, seekable: bool, on_progress: Optional[UploadProgress]) -> None:
        self._raw = raw
        self._start = start
        self._seekable = seekable
        self._on_progress = on_progress
        self._sent = 0
        self._total = self._length() if seekable else None

    def _length(self) -> int:
        here = self._raw.tell()
        end = self._raw.seek(0, os.SEEK_END)
        self._raw.seek(here)
        return end - self._start

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._sent += len(chunk)
        if self._on_progress is not None and chunk:
            self._on_progress(self._sent, self._total)
        return chunk

    # httpx measures the part's length with tell/seek (for Content-Length) and rewinds it before sending.
    def tell(self) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("not seekable")
        return self._raw.tell() - self._start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("not seekable")
        if whence == os.SEEK_SET:
            offset += self._start
        position = self._raw.seek(offset, whence) - self._start
        if position == 0:
            self._sent = 0
        return position


# Sample rates /v1/ws accepts; other audio is converted to 16 kHz by ffmpeg.
STREAM_SAMPLE_RATES = (8000, 16000, 44100, 48000)
_FRAME_S = 0.1


def pcm16_file(path: Union[str, "os.PathLike[str]"]) -> tuple[int, Iterator[bytes]]:
    """A file as PCM16 little-endian mono frames of 100 ms and their sample rate: a mono 16-bit WAV at a rate the
    stream takes is read as it is; anything else is converted by ffmpeg (which must then be installed)."""
    native = _pcm16_wav(path)
    if native is not None:
        return native
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise EarshotError("unsupported_audio", f"{os.fspath(path)} is not 16-bit mono WAV; streaming it needs ffmpeg on PATH")
    sample_rate = 16000
    command = [ffmpeg, "-nostdin", "-v", "error", "-i", os.fspath(path), "-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-"]
    return sample_rate, _ffmpeg_frames(command, int(sample_rate * _FRAME_S) * 2)


def _pcm16_wav(path: Union[str, "os.PathLike[str]"]) -> Optional[tuple[int, Iterator[bytes]]]:
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1 or wav.getframerate() not in STREAM_SAMPLE_RATES:
                return None
            sample_rate = wav.getframerate()
    except (wave.Error, EOFError):
        return None

    def frames() -> Iterator[bytes]:
        with wave.open(os.fspath(path), "rb") as wav:
            step = int(sample_rate * _FRAME_S)
            while True:
                chunk = wav.readframes(step)
                if not chunk:
                    return
                yield chunk

    return sample_rate, frames()


def _ffmpeg_frames(command: list[str], frame_bytes: int) -> Iterator[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    try:
        while True:
            chunk = process.stdout.read(frame_bytes)
            if not chunk:
                break
            yield chunk
        if process.wait() != 0:
            reason = process.stderr.read().decode(errors="replace").strip()
            raise EarshotError("unsupported_audio", f"ffmpeg cannot decode the file: {reason}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
