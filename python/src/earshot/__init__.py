"""Python client for Earshot, the self-hosted speech service: transcription, diarization, emotion, jobs, streaming."""

from ._audio import AudioSource
from .client import AsyncEarshot, Earshot
from .errors import EarshotApiError, EarshotConnectionError, EarshotError, EarshotJobError, EarshotTimeoutError
from .types import *  # noqa: F403 (the wire types are part of the package's API)

__version__ = "0.1.0"

__all__ = [
    "AsyncEarshot",
    "AudioSource",
    "Earshot",
    "EarshotApiError",
    "EarshotConnectionError",
    "EarshotError",
    "EarshotJobError",
    "EarshotTimeoutError",
]
