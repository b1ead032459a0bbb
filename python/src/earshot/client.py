"""``Earshot`` (sync) and ``AsyncEarshot``: the same calls from ``_core``, sent with httpx's sync or async client."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, Callable, Optional, Union, cast

import httpx

from . import _core
from ._audio import AudioSource, UploadProgress
from ._core import Answer, Call, RetryPolicy, Send, Sleep, T
from ._stream import AsyncStreamAudio, StreamAudio, stream_async, stream_sync
from .errors import EarshotConnectionError, EarshotTimeoutError
from .types import (
    HealthReport,
    Job,
    JobAccepted,
    JobDeleted,
    JobList,
    JobStatus,
    ModelList,
    OutputFormat,
    ProcessRequest,
    ProcessResponse,
    ProcessSettings,
    StreamEvent,
    TranscribeSettings,
    TranscriptionResult,
)

JobRef = Union[str, JobAccepted, Job]
ProgressCallback = Callable[[float, Job], None]


def _job_id(job: JobRef) -> str:
    return job if isinstance(job, str) else job["job_id"]


@contextmanager
def _transport_errors(timeout_s: float) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as err:
        raise EarshotTimeoutError(timeout_s) from err
    except httpx.TransportError as err:
        raise EarshotConnectionError(err) from err


class _Settings:
    """What both clients are configured with."""

    def __init__(
        self,
        url: Optional[str],
        api_key: Optional[str],
        timeout: float,
        max_retries: int,
        retry_base_delay: float,
        max_retry_delay: float,
    ) -> None:
        self.url = (url or os.environ.get("EARSHOT_URL") or "http://localhost:8000").rstrip("/")
        api_key = api_key if api_key is not None else os.environ.get("EARSHOT_API_KEY")
        self.headers: dict[str, str] = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries, retry_base_delay, max_retry_delay)

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :] + "/v1/ws"

    def http_options(self) -> dict[str, Any]:
        return {"base_url": self.url, "headers": self.headers, "timeout": httpx.Timeout(self.timeout)}


_DOC_ARGS = """
    ``url`` defaults to ``$EARSHOT_URL``, else http://localhost:8000; ``api_key`` (sent as ``Authorization: Bearer``)
    to ``$EARSHOT_API_KEY``. ``timeout``: longest wait in seconds for connecting and for each read or write (a
    synchronous ``process`` answers only when done, so this bounds it too). 429 and 503 answers are retried up to
    ``max_retries`` times, after the server's ``Retry-After`` or else an exponential backoff from ``retry_base_delay``
    with full jitter, never waiting more than ``max_retry_delay``.
"""


class Earshot:
    __doc__ = "The Earshot API, blocking calls.\n" + _DOC_ARGS

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = _core.DEFAULT_TIMEOUT_S,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._settings = _Settings(url, api_key, timeout, max_retries, retry_base_delay, max_retry_delay)
        self._http = httpx.Client(**self._settings.http_options())

    @property
    def url(self) -> str:
        return self._settings.url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Earshot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        reply: Any = None
        try:
            while True:
                step = call.send(reply)
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    reply = None
                else:
                    reply = self._send(step)
        except StopIteration as finished:
            return cast(T, finished.value)
        finally:
            call.close()

    def _send(self, step: Send) -> Answer:
        with _transport_errors(self._settings.timeout):
            if step.upload is None:
                response = self._http.request(step.method, step.path, params=step.params, headers=step.headers, json=step.json)
            else:
                with step.upload.files(step.request_json) as files:
                    response = self._http.request(step.method, step.path, params=step.params, headers=step.headers, files=files)
        return Answer(response.status_code, response.headers, response.text)

    def process(
        self, audio: AudioSource, request: Optional[ProcessRequest] = None, *, on_upload_progress: Optional[UploadProgress] = None
    ) -> Union[ProcessResponse, str]:
        """POST /v1/process: the full response (a dict), or the text/SRT/VTT/RTTM string ``format_output`` asks for.
        ``audio``: a file path, an http(s) URL the service fetches, bytes, or a binary file object."""
        return self._run(_core.process(audio, request or _core.DEFAULT_REQUEST, self._settings.retry, on_upload_progress))

    def transcribe(self, audio: AudioSource, settings: Optional[TranscribeSettings] = None) -> TranscriptionResult:
        """Speech to text only: ``process`` with the transcribe task, answering with ``result.tra``."""
        response = cast(ProcessResponse, self.process(audio, {"settings": {"tasks": ["transcribe"], "tra": settings or {}}}))
        return response["result"]["tra"]

    def submit(
        self,
        audio: AudioSource,
        request: Optional[ProcessRequest] = None,
        *,
        idempotency_key: Optional[str] = None,
        on_upload_progress: Optional[UploadProgress] = None,
    ) -> JobAccepted:
        """Queues a background job and answers at once with its id. Sends an Idempotency-Key (a fresh UUID unless
        given), so a retried submit never queues a job twice."""
        call = _core.submit(audio, request or _core.DEFAULT_REQUEST, self._settings.retry, idempotency_key, on_upload_progress)
        return self._run(call)

    def wait_for_job(
        self, job: JobRef, *, on_progress: Optional[ProgressCallback] = None, poll_interval: float = 1.0, timeout: Optional[float] = None
    ) -> Job:
        """Polls a job until it completes (returns it) or fails or is cancelled (raises EarshotJobError).
        ``on_progress`` gets each new progress value (0..1) and the job as polled."""
        return self._run(_core.wait_for_job(_job_id(job), self._settings.retry, on_progress, poll_interval, timeout))

    # The name for it, beside the TypeScript SDK's waitForJob.
    wait = wait_for_job

    def get_job(self, job: JobRef) -> Job:
        return cast(Job, self._run(_core.json_call("GET", _core.job_path(_job_id(job)), self._settings.retry)))

    def list_jobs(self, *, status: Optional[JobStatus] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> JobList:
        """Recent jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
        return self._run(_core.list_jobs(self._settings.retry, status, limit, cursor))

    def cancel_job(self, job: JobRef) -> JobDeleted:
        """Cancels a queued or running job, then deletes it and its audio."""
        return cast(JobDeleted, self._run(_core.json_call("DELETE", _core.job_path(_job_id(job)), self._settings.retry)))

    def retry_job(self, job: JobRef) -> Job:
        """Queues a failed job again (409 ``job_conflict`` for a job that did not fail)."""
        return cast(Job, self._run(_core.json_call("POST", _core.job_path(_job_id(job)) + "/retry", self._settings.retry)))

    def render(self, response: ProcessResponse, output_format: OutputFormat) -> str:
        """A JSON answer (of ``process``, or a job's ``result``) as text, SRT, WebVTT or RTTM, by the service's writers."""
        return self._run(_core.render(response, output_format, self._settings.retry))

    def stream(
        self,
        audio: StreamAudio,
        *,
        settings: Optional[ProcessSettings] = None,
        sample_rate: int = 16000,
        realtime: bool = False,
    ) -> Iterator[StreamEvent]:
        """Live transcription over /v1/ws: yields ``partial``, ``final`` and late ``emotion`` events until the last final.
        ``audio``: a file path (16-bit mono WAV as is, anything else through ffmpeg), or PCM16 little-endian mono
        chunks at ``sample_rate``. ``realtime`` sends at the audio's own pace; otherwise as fast as the server takes it.
        ``settings``: ``tra`` (and ``dia``, ``dia.speakers`` naming the key's enrolled voices) as for ``process``.
        Error frames are raised as EarshotError."""
        return stream_sync(self._settings.ws_url, self._settings.headers, audio, settings, sample_rate, realtime, self._settings.timeout)

    def health(self) -> HealthReport:
        return cast(HealthReport, self._run(_core.json_call("GET", "/health", self._settings.retry)))

    def models(self) -> ModelList:
        return cast(ModelList, self._run(_core.json_call("GET", "/v1/models", self._settings.retry)))


class AsyncEarshot:
    __doc__ = "The Earshot API for asyncio: the methods of ``Earshot``, awaitable.\n" + _DOC_ARGS

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = _core.DEFAULT_TIMEOUT_S,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._settings = _Settings(url, api_key, timeout, max_retries, retry_base_delay, max_retry_delay)
        self._http = httpx.AsyncClient(**self._settings.http_options())

    @property
    def url(self) -> str:
        return self._settings.url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncEarshot":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        reply: Any = None
        try:
            while True:
                step = call.send(reply)
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    reply = None
                else:
                    reply = await self._send(step)
        except StopIteration as finished:
            return cast(T, finished.value)
        finally:
            call.close()

    async def _send(self, step: Send) -> Answer:
        with _transport_errors(self._settings.timeout):
            if step.upload is None:
                response = await self._http.request(step.method, step.path, params=step.params, headers=step.headers, json=step.json)
            else:
                with step.upload.files(step.request_json) as files:
                    response = await self._http.request(step.method, step.path, params=step.params, headers=step.headers, files=files)
        return Answer(response.status_code, response.headers, response.text)

    async def process(
        self, audio: AudioSource, request: Optional[ProcessRequest] = None, *, on_upload_progress: Optional[UploadProgress] = None
    ) -> Union[ProcessResponse, str]:
        return await self._run(_core.process(audio, request or _core.DEFAULT_REQUEST, self._settings.retry, on_upload_progress))

    async def transcribe(self, audio: AudioSource, settings: Optional[TranscribeSettings] = None) -> TranscriptionResult:
        response = cast(ProcessResponse, await self.process(audio, {"settings": {"tasks": ["transcribe"], "tra": settings or {}}}))
        return response["result"]["tra"]

    async def submit(
        self,
        audio: AudioSource,
        request: Optional[ProcessRequest] = None,
        *,
        idempotency_key: Optional[str] = None,
        on_upload_progress: Optional[UploadProgress] = None,
    ) -> JobAccepted:
        call = _core.submit(audio, request or _core.DEFAULT_REQUEST, self._settings.retry, idempotency_key, on_upload_progress)
        return await self._run(call)

    async def wait_for_job(
        self, job: JobRef, *, on_progress: Optional[ProgressCallback] = None, poll_interval: float = 1.0, timeout: Optional[float] = None
    ) -> Job:
        return await self._run(_core.wait_for_job(_job_id(job), self._settings.retry, on_progress, poll_interval, timeout))

    wait = wait_for_job

    async def get_job(self, job: JobRef) -> Job:
        return cast(Job, await self._run(_core.json_call("GET", _core.job_path(_job_id(job)), self._settings.retry)))

    async def list_jobs(self, *, status: Optional[JobStatus] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> JobList:
        return await self._run(_core.list_jobs(self._settings.retry, status, limit, cursor))

    async def cancel_job(self, job: JobRef) -> JobDeleted:
        return cast(JobDeleted, await self._run(_core.json_call("DELETE", _core.job_path(_job_id(job)), self._settings.retry)))

    async def retry_job(self, job: JobRef) -> Job:
        return cast(Job, await self._run(_core.json_call("POST", _core.job_path(_job_id(job)) + "/retry", self._settings.retry)))

    async def render(self, response: ProcessResponse, output_format: OutputFormat) -> str:
        return await self._run(_core.render(response, output_format, self._settings.retry))

    def stream(
        self,
        audio: AsyncStreamAudio,
        *,
        settings: Optional[ProcessSettings] = None,
        sample_rate: int = 16000,
        realtime: bool = False,
    ) -> AsyncIterator[StreamEvent]:
        """``async for event in client.stream(...)``; ``audio`` may also be an async iterable of PCM16 chunks."""
        return stream_async(self._settings.ws_url, self._settings.headers, audio, settings, sample_rate, realtime, self._settings.timeout)

    async def health(self) -> HealthReport:
        return cast(HealthReport, await self._run(_core.json_call("GET", "/health", self._settings.retry)))

    async def models(self) -> ModelList:
        return cast(ModelList, await self._run(_core.json_call("GET", "/v1/models", self._settings.retry)))
