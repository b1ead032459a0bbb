"""Live transcription over /v1/ws: the protocol once (``StreamSession``), driven by websockets' sync or asyncio client.

A session sends a start frame (settings and sample rate), the audio as binary PCM16 frames, then ``{"type":"end"}``;
the server answers ``partial`` and ``final`` events (and ``emotion`` events for finals whose emotion came late,
``relabel`` events for earlier segments that the stream so far gives another speaker), ``error`` frames, and
``done`` after the last final.
"""

import asyncio
import json
import os
import threading
import time
from collections import abc
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, ExitStack
from typing import Any, Optional, Union

from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as connect_sync

from ._audio import pcm16_file
from .errors import EarshotApiError, EarshotConnectionError, EarshotError
from .types import ProcessSettings, StreamEvent

# A file path (decoded to PCM16 frames), or PCM16 little-endian mono chunks at `sample_rate`.
StreamAudio = Union[str, "os.PathLike[str]", Iterable[bytes]]
AsyncStreamAudio = Union[StreamAudio, AsyncIterable[bytes]]

END_FRAME = json.dumps({"type": "end"})


class StreamSession:
    """The /v1/ws protocol without I/O: what to send first, and what each server frame means."""

    def __init__(self, settings: Optional[dict[str, Any]], sample_rate: int) -> None:
        self.start_frame = json.dumps({"settings": {"tasks": ["transcribe"], **(settings or {})}, "sample_rate": sample_rate})
        self.bytes_per_s = sample_rate * 2
        self.done = False

    def receive(self, frame: Union[str, bytes]) -> Optional[StreamEvent]:
        """The event a server frame carries, None for ``ready``/``done``; an ``error`` frame is raised."""
        message = json.loads(frame)
        kind = message.get("type")
        if kind in ("partial", "final", "emotion", "relabel"):
            return message  # type: ignore[no-any-return]
        if kind == "error":
            raise EarshotError(message.get("code", "stream_error"), message.get("message", ""))
        if kind == "done":
            self.done = True
        return None

    def unfinished(self) -> EarshotConnectionError:
        return EarshotConnectionError("the server closed the stream before it was done")


def stream_source(audio: Any, sample_rate: int) -> tuple[int, Any]:
    """A path becomes its PCM16 frames (with the file's sample rate); chunks pass as they are."""
    if isinstance(audio, (str, os.PathLike)):
        return pcm16_file(audio)
    return sample_rate, audio


def handshake_error(err: Exception) -> EarshotError:
    """A refused upgrade (401, 403, 429, 503…) as the API error its body carries; anything else as a connection error."""
    if isinstance(err, InvalidStatus):
        response = err.response
        body = response.body.decode(errors="replace") if response.body else ""
        try:
            error = json.loads(body)["error"]
            return EarshotApiError(response.status_code, error["code"], error["message"], response.headers.get("x-request-id"))
        except (ValueError, KeyError, TypeError):
            return EarshotApiError(response.status_code, f"http_{response.status_code}", body[:200])
    return EarshotConnectionError(err)


class _Pace:
    """Holds the sender to real time: each chunk goes out when the audio before it has been "played"."""

    def __init__(self, bytes_per_s: int) -> None:
        self._bytes_per_s = bytes_per_s
        self._started = time.monotonic()
        self._sent = 0

    def wait_s(self, chunk: bytes) -> float:
        due = self._started + self._sent / self._bytes_per_s
        self._sent += len(chunk)
        return max(0.0, due - time.monotonic())


def stream_sync(
    url: str,
    headers: dict[str, str],
    audio: StreamAudio,
    settings: Optional[ProcessSettings],
    sample_rate: int,
    realtime: bool,
    open_timeout_s: float,
) -> Iterator[StreamEvent]:
    sample_rate, chunks = stream_source(audio, sample_rate)
    session = StreamSession(dict(settings) if settings else None, sample_rate)
    with ExitStack() as scope:
        try:
            socket = scope.enter_context(connect_sync(url, additional_headers=headers, open_timeout=open_timeout_s, max_size=None))
        except (InvalidHandshake, OSError, TimeoutError) as err:
            raise handshake_error(err) from err
        yield from _session_sync(socket, session, chunks, realtime)


def _session_sync(socket: ClientConnection, session: StreamSession, chunks: Iterable[bytes], realtime: bool) -> Iterator[StreamEvent]:
    stop = threading.Event()
    failure: list[BaseException] = []

    def send_audio() -> None:
        # A thread, so that audio goes out while events come in; websockets' sync connection takes sends from one
        # thread and receives from another.
        pace = _Pace(session.bytes_per_s) if realtime else None
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                if pace is not None:
                    stop.wait(pace.wait_s(chunk))
                socket.send(bytes(chunk))
            socket.send(END_FRAME)
        except ConnectionClosed:
            pass
        except BaseException as err:  # a failure to read the audio ends the session; it is raised by the receiver
            failure.append(err)
            socket.close()

    sender = threading.Thread(target=send_audio, name="earshot-stream-send", daemon=True)
    try:
        try:
            socket.send(session.start_frame)
        except ConnectionClosed:
            pass  # refused at once (a bad key): the error frame it sent first is read below
        sender.start()
        try:
            for frame in socket:
                event = session.receive(frame)
                if event is not None:
                    yield event
                if session.done:
                    return
        except ConnectionClosed as err:
            sender.join()
            if not failure:
                raise EarshotConnectionError(err) from err
        sender.join()
        raise failure[0] if failure else session.unfinished()
    finally:
        stop.set()
        socket.close()
        if sender.ident is not None:
            sender.join()


async def _aiter(chunks: Union[Iterable[bytes], AsyncIterable[bytes]]) -> AsyncIterator[bytes]:
    if isinstance(chunks, abc.AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


async def stream_async(
    url: str,
    headers: dict[str, str],
    audio: AsyncStreamAudio,
    settings: Optional[ProcessSettings],
    sample_rate: int,
    realtime: bool,
    open_timeout_s: float,
) -> AsyncIterator[StreamEvent]:
    sample_rate, chunks = stream_source(audio, sample_rate)
    session = StreamSession(dict(settings) if settings else None, sample_rate)
    scope = AsyncExitStack()
    try:
        connecting = connect_async(url, additional_headers=headers, open_timeout=open_timeout_s, max_size=None)
        socket = await scope.enter_async_context(connecting)
    except (InvalidHandshake, OSError, TimeoutError) as err:
        raise handshake_error(err) from err

    async def send_audio() -> None:
        pace = _Pace(session.bytes_per_s) if realtime else None
        try:
            async for chunk in _aiter(chunks):
                if pace is not None:
                    await asyncio.sleep(pace.wait_s(chunk))
                await socket.send(bytes(chunk))
            await socket.send(END_FRAME)
        except ConnectionClosed:
            pass
        except BaseException:
            await socket.close()
            raise

    sender: Optional[asyncio.Task[None]] = None
    async with scope:
        try:
            try:
                await socket.send(session.start_frame)
            except ConnectionClosed:
                pass  # refused at once (a bad key): the error frame it sent first is read below
            sender = asyncio.ensure_future(send_audio())
            closed: Optional[ConnectionClosed] = None
            try:
                async for frame in socket:
                    event = session.receive(frame)
                    if event is not None:
                        yield event
                    if session.done:
                        return
            except ConnectionClosed as err:
                closed = err
            # The server or the sender closed the socket early: the sender's failure says why, if it had one.
            (outcome,) = await asyncio.gather(sender, return_exceptions=True)
            if isinstance(outcome, BaseException):
                raise outcome
            raise EarshotConnectionError(closed) if closed is not None else session.unfinished()
        finally:
            if sender is not None and not sender.done():
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
