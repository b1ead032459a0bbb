"""The ``earshot`` command: transcribe files (now or as a background job), stream a file or the microphone, manage jobs."""

import argparse
import json
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Any, Optional

from .client import Earshot
from .errors import EarshotError
from .types import Job, ProcessRequest, TaskName, TranscribeSettings

FORMATS = ["json", "text", "srt", "vtt", "rttm"]
# Uploads at least this big show their progress (when stderr is a terminal).
UPLOAD_PROGRESS_MIN_BYTES = 8 * 1024 * 1024


class ProgressLine:
    """A progress bar on stderr: redrawn in place on a terminal, one line per whole percent otherwise (logs, pipes)."""

    WIDTH = 30

    def __init__(self, label: str, out: IO[str] = sys.stderr) -> None:
        self._label = label
        self._out = out
        self._tty = out.isatty()
        self._shown = -1

    def update(self, fraction: float) -> None:
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        if percent == self._shown:
            return
        self._shown = percent
        if self._tty:
            filled = percent * self.WIDTH // 100
            self._out.write(f"\r{self._label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%")
        else:
            self._out.write(f"{self._label} {percent}%\n")
        self._out.flush()

    def finish(self) -> None:
        if self._tty and self._shown >= 0:
            self._out.write("\n")
            self._out.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earshot", description="Earshot speech service client.")
    parser.add_argument("--url", help="service URL (default $EARSHOT_URL, else http://localhost:8000)")
    parser.add_argument("--api-key", help="API key (default $EARSHOT_API_KEY)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the server (default 600)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    transcribe = commands.add_parser("transcribe", help="transcribe a file (path or http(s) URL)")
    transcribe.add_argument("file", metavar="FILE")
    transcribe.add_argument("--diarize", action="store_true", help="label who speaks when")
    transcribe.add_argument("--emotion", action="store_true", help="recognise emotion per segment")
    transcribe.add_argument("--language", help='ISO code such as "en" (default: detect)')
    transcribe.add_argument("--model", help="speech-to-text model (GET /v1/models)")
    transcribe.add_argument("--format", choices=FORMATS, default="text", help="output format (default text); rttm runs diarization alone")
    transcribe.add_argument("--job", action="store_true", help="run as a background job and wait for it, with progress")
    transcribe.add_argument("-o", "--output", metavar="OUT", help="write to this file instead of stdout")

    stream = commands.add_parser("stream", help="live transcription of a file or the microphone; prints finals as they come")
    stream.add_argument("file", metavar="FILE", nargs="?", help="audio file (16-bit mono WAV as is, else through ffmpeg)")
    stream.add_argument("--mic", action="store_true", help="stream the microphone (needs the sounddevice package)")
    stream.add_argument("--language", help='ISO code such as "en"')
    stream.add_argument("--model", help="speech-to-text model")
    stream.add_argument("--realtime", action="store_true", help="send a file at its own pace instead of as fast as possible")

    jobs = commands.add_parser("jobs", help="background jobs").add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    listing = jobs.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--status", choices=["queued", "processing", "completed", "failed", "cancelled"])
    listing.add_argument("--limit", type=int, help="1..100 (default 20)")
    listing.add_argument("--cursor", help="next_cursor of the previous page")
    for action, text in (("get", "one job as JSON"), ("cancel", "cancel and delete a job"), ("retry", "queue a failed job again"),
                         ("wait", "wait for a job, with progress; prints it as JSON")):
        jobs.add_parser(action, help=text).add_argument("job_id", metavar="JOB_ID")
    return parser


def _write(text: str, output: Optional[str]) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)


def _print_json(value: Any) -> None:
    _write(json.dumps(value, indent=2, ensure_ascii=False), None)


def _wait(client: Earshot, job_id: str) -> Job:
    bar = ProgressLine(f"job {job_id}")
    try:
        return client.wait_for_job(job_id, on_progress=lambda progress, _job: bar.update(progress))
    finally:
        bar.finish()


def _transcribe(client: Earshot, args: argparse.Namespace) -> None:
    tasks: list[TaskName] = ["transcribe"]
    if args.diarize:
        tasks.append("diarization")
    if args.emotion:
        tasks.append("emotion")
    if args.format == "rttm":
        tasks = ["diarization"]  # RTTM is speaker turns: the service makes it from diarization alone
    tra: TranscribeSettings = {}
    if args.language:
        tra["language"] = args.language
    if args.model:
        tra["model"] = args.model
    request: ProcessRequest = {"settings": {"tasks": tasks, "tra": tra}, "format_output": args.format}

    upload_bar: Optional[ProgressLine] = None
    if sys.stderr.isatty() and os.path.isfile(args.file) and os.path.getsize(args.file) >= UPLOAD_PROGRESS_MIN_BYTES:
        upload_bar = ProgressLine("upload")

    def on_upload(sent: int, total: Optional[int]) -> None:
        if upload_bar is not None and total:
            upload_bar.update(sent / total)

    try:
        if args.job:
            accepted = client.submit(args.file, {**request, "format_output": "json"}, on_upload_progress=on_upload)
            if upload_bar is not None:
                upload_bar.finish()
            response = _wait(client, accepted["job_id"])["result"]
            output = json.dumps(response, indent=2, ensure_ascii=False) if args.format == "json" else client.render(response, args.format)
        else:
            answer = client.process(args.file, request, on_upload_progress=on_upload)
            output = answer if isinstance(answer, str) else json.dumps(answer, indent=2, ensure_ascii=False)
    finally:
        if upload_bar is not None:
            upload_bar.finish()
    _write(output, args.output)


def _microphone(sounddevice: Any, sample_rate: int, stopped: threading.Event) -> Iterator[bytes]:
    """PCM16 mono chunks of 100 ms from the default input device (the sounddevice module) until ``stopped``."""
    chunks: queue.Queue[bytes] = queue.Queue()
    with sounddevice.RawInputStream(samplerate=sample_rate, channels=1, dtype="int16", blocksize=sample_rate // 10,
                                    callback=lambda data, _frames, _time, _status: chunks.put(bytes(data))):
        while not stopped.is_set():
            try:
                yield chunks.get(timeout=0.2)
            except queue.Empty:
                continue


def _stream(client: Earshot, args: argparse.Namespace) -> int:
    if args.mic == (args.file is not None):
        sys.stderr.write("earshot stream: give FILE or --mic\n")
        return 2
    audio: Any = args.file
    if args.mic:
        try:
            # Optional (pip install earshot-client[mic]); it needs the PortAudio library too.
            import sounddevice  # type: ignore[import-not-found]
        except (ImportError, OSError) as err:
            sys.stderr.write(f"earshot stream --mic needs the sounddevice package (pip install sounddevice) and PortAudio: {err}\n")
            return 2
        # The first Ctrl-C ends the audio, so that the service still sends the last finals; a second stops at once.
        stopped = threading.Event()

        def stop(_signal: int, _frame: Any) -> None:
            stopped.set()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, stop)
        audio = _microphone(sounddevice, 16000, stopped)
        sys.stderr.write("listening; Ctrl-C to stop\n")
    tra: TranscribeSettings = {}
    if args.language:
        tra["language"] = args.language
    if args.model:
        tra["model"] = args.model
    show_partials = sys.stderr.isatty()
    for event in client.stream(audio, settings={"tasks": ["transcribe"], "tra": tra}, realtime=args.realtime):
        if event["type"] == "final":
            if show_partials:
                sys.stderr.write("\r\033[K")
            print(event["segment"]["text"].strip(), flush=True)
        elif event["type"] == "partial" and show_partials:
            sys.stderr.write(f"\r\033[K{event['text'].strip()}")
            sys.stderr.flush()
    return 0


def _jobs(client: Earshot, args: argparse.Namespace) -> None:
    if args.jobs_command == "list":
        page = client.list_jobs(status=args.status, limit=args.limit, cursor=args.cursor)
        for job in page["jobs"]:
            print(f"{job['job_id']}  {job['status']:<10}  {round(job['progress'] * 100):3d}%  {job['created_at']}")
        if page["next_cursor"]:
            sys.stderr.write(f"more: earshot jobs list --cursor {page['next_cursor']}\n")
    elif args.jobs_command == "get":
        _print_json(client.get_job(args.job_id))
    elif args.jobs_command == "cancel":
        _print_json(client.cancel_job(args.job_id))
    elif args.jobs_command == "retry":
        _print_json(client.retry_job(args.job_id))
    else:
        _print_json(_wait(client, args.job_id))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with Earshot(args.url, args.api_key, timeout=args.timeout) as client:
            if args.command == "transcribe":
                _transcribe(client, args)
            elif args.command == "stream":
                return _stream(client, args)
            else:
                _jobs(client, args)
    except EarshotError as err:
        sys.stderr.write(f"earshot: {err}\n")
        return 1
    except OSError as err:  # a file that cannot be read or written
        sys.stderr.write(f"earshot: {err}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
