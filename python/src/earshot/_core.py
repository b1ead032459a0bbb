"""The client's logic without I/O, shared by the sync and the async client.

Every API call is a generator that yields what it needs done — an HTTP request (``Send``) or a pause (``Sleep``) —
and receives the answer; it returns the call's result. Retries, polling, request building and answer parsing live
here once; ``Earshot`` and ``AsyncEarshot`` only drive the generators with httpx's sync or async client.
"""

import email.utils
import json
import logging
import random
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar, Union, cast
from urllib.parse import quote

from ._audio import AudioSource, Upload, UploadProgress
from .errors import EarshotApiError, EarshotError, EarshotJobError
from .types import (
    Job,
    JobAccepted,
    JobList,
    JobStatus,
    ProcessRequest,
    ProcessResponse,
)

log = logging.getLogger("earshot")

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_REQUEST: ProcessRequest = {"settings": {"tasks": ["transcribe"]}}
RETRY_STATUSES = frozenset({429, 503})
FINISHED: "frozenset[JobStatus]" = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class RetryPolicy:
    # Retries after the first attempt, on 429 and 503 only.
    max_retries: int = 3
    # First backoff when the server gives no Retry-After; doubled each retry, with full jitter.
    base_delay_s: float = 0.5
    # No wait is longer than this, whatever Retry-After says.
    max_delay_s: float = 30.0


@dataclass(frozen=True)
class Send:
    """One HTTP request to make. ``upload`` (with ``request_json``) makes a multipart body afresh per attempt."""

    method: str
    path: str
    params: Optional[dict[str, str]] = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    upload: Optional[Upload] = None
    request_json: str = ""


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str


T = TypeVar("T")
Call = Generator[Union[Send, Sleep], Any, T]


def parse_retry_after(header: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if header is None or not header.strip():
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        date = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, date.timestamp() - (time.time() if now is None else now))


def retry_delay_s(retry: int, retry_after_s: Optional[float], policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number ``retry`` (0-based): Retry-After when the server gave one, else backoff."""
    delay = retry_after_s if retry_after_s is not None else rand() * policy.base_delay_s * 2**retry
    return min(policy.max_delay_s, delay)


def api_error(answer: Answer) -> EarshotApiError:
    """The error of a non-2xx answer: the API's error body when there is one, the status line otherwise."""
    retry_after_s = parse_retry_after(answer.headers.get("retry-after"))
    request_id = answer.headers.get("x-request-id")
    try:
        error = json.loads(answer.text)["error"]
        if isinstance(error["code"], str):
            return EarshotApiError(answer.status, error["code"], str(error.get("message", "")), request_id, retry_after_s)
    except (ValueError, KeyError, TypeError):
        pass  # not the API's JSON: a proxy's error page, for instance
    return EarshotApiError(answer.status, f"http_{answer.status}", answer.text[:200], request_id, retry_after_s)


def send(request: Send, policy: RetryPolicy) -> Call[Answer]:
    """One request with the client's rules: retries on 429/503 after Retry-After (or backoff), typed errors.
    A body that cannot be sent again (a one-shot file object) is never retried."""
    replayable = request.upload is None or request.upload.replayable
    retry = 0
    while True:
        answer: Answer = yield request
        if answer.status < 400:
            return answer
        error = api_error(answer)
        if answer.status not in RETRY_STATUSES or retry >= policy.max_retries or not replayable:
            raise error
        delay = retry_delay_s(retry, error.retry_after_s, policy)
        log.info(
            "earshot: %s %s answered %d %s; retry %d in %.2f s", request.method, request.path, answer.status, error.code, retry + 1, delay
        )
        yield Sleep(delay)
        retry += 1


def json_call(method: str, path: str, policy: RetryPolicy, params: Optional[dict[str, str]] = None, body: Any = None) -> Call[Any]:
    answer = yield from send(Send(method, path, params=params, json=body), policy)
    return json.loads(answer.text)


def process(
    audio: AudioSource,
    request: ProcessRequest,
    policy: RetryPolicy,
    on_upload_progress: Optional[UploadProgress] = None,
) -> Call[Union[ProcessResponse, str]]:
    """POST /v1/process: the full response, or the transcript as text/SRT/VTT/RTTM when ``format_output`` asks."""
    body = {**request, "async_process": False}
    upload = Upload(audio, on_upload_progress)
    answer = yield from send(Send("POST", "/v1/process", upload=upload, request_json=json.dumps(body)), policy)
    if request.get("format_output", "json") == "json":
        return cast(ProcessResponse, json.loads(answer.text))
    return answer.text


def submit(
    audio: AudioSource,
    request: ProcessRequest,
    policy: RetryPolicy,
    idempotency_key: Optional[str] = None,
    on_upload_progress: Optional[UploadProgress] = None,
) -> Call[JobAccepted]:
    """POST /v1/process with ``async_process``. The Idempotency-Key (a fresh UUID unless given) makes the client's
    own retries safe: the same key gives back the job it first created."""
    body = {**request, "async_process": True}
    headers = {"idempotency-key": idempotency_key or str(uuid.uuid4())}
    upload = Upload(audio, on_upload_progress)
    answer = yield from send(Send("POST", "/v1/process", headers=headers, upload=upload, request_json=json.dumps(body)), policy)
    return cast(JobAccepted, json.loads(answer.text))


def job_path(job_id: str) -> str:
    return f"/v1/jobs/{quote(job_id, safe='')}"


def list_jobs(policy: RetryPolicy, status: Optional[JobStatus], limit: Optional[int], cursor: Optional[str]) -> Call[JobList]:
    params = {key: str(value) for key, value in (("status", status), ("limit", limit), ("cursor", cursor)) if value is not None}
    return cast(JobList, (yield from json_call("GET", "/v1/jobs", policy, params=params)))


def wait_for_job(
    job_id: str,
    policy: RetryPolicy,
    on_progress: Optional[Callable[[float, Job], None]],
    poll_interval_s: float,
    timeout_s: Optional[float],
) -> Call[Job]:
    """Polls a job until it completes (returns it) or fails or is cancelled (raises EarshotJobError)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last_progress = -1.0
    while True:
        job = cast(Job, (yield from json_call("GET", job_path(job_id), policy)))
        if job["progress"] != last_progress:
            last_progress = job["progress"]
            if on_progress is not None:
                on_progress(job["progress"], job)
        if job["status"] in FINISHED:
            if job["status"] == "completed":
                return job
            raise EarshotJobError(job)
        if deadline is not None and time.monotonic() + poll_interval_s > deadline:
            raise EarshotError("timeout", f"job {job_id} is still {job['status']} after {timeout_s:g} s")
        yield Sleep(poll_interval_s)


def render(response: ProcessResponse, output_format: str, policy: RetryPolicy) -> Call[str]:
    """POST /v1/render: a JSON answer (of process, or a job's ``result``) as text, SRT, WebVTT or RTTM."""
    body = {"request_id": response["request_id"], "result": response["result"]}
    answer = yield from send(Send("POST", "/v1/render", params={"format": output_format}, json=body), policy)
    return answer.text
