"""Typed errors: every failure the client reports is an EarshotError with the server's error code (or the client's own)."""

from typing import Optional

from .types import Job


class EarshotError(Exception):
    """Any failure the client reports; ``code`` is the server's error code, or one of the client's own below."""

    def __init__(self, code: str, message: str, request_id: Optional[str] = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.code = code
        self.message = message
        # The server's X-Request-Id of the failed call, to find it in the service's logs.
        self.request_id = request_id


class EarshotApiError(EarshotError):
    """The server answered with an error status; ``code`` and ``message`` as in ``{"error":{"code","message"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: Optional[str] = None,
        retry_after_s: Optional[float] = None,
    ) -> None:
        super().__init__(code, message, request_id)
        self.status = status
        # Seconds the server asked to wait (429/503 Retry-After), if it said.
        self.retry_after_s = retry_after_s


class EarshotTimeoutError(EarshotError):
    """The server did not answer within the client's ``timeout`` (code ``timeout``)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__("timeout", f"no answer within {timeout_s:g} s")


class EarshotConnectionError(EarshotError):
    """The server could not be reached, or the connection broke (code ``connection_error``)."""

    def __init__(self, cause: object) -> None:
        super().__init__("connection_error", f"cannot reach the Earshot server: {cause}")


class EarshotJobError(EarshotError):
    """A job that ended ``failed`` or ``cancelled``; ``code`` is the job's error code, or ``job_cancelled``."""

    def __init__(self, job: Job) -> None:
        error = job.get("error")
        code = error["code"] if error else f"job_{job['status']}"
        message = error["message"] if error else f"job {job['job_id']} ended {job['status']}"
        super().__init__(code, message)
        self.job = job
