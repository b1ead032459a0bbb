"""AsyncEarshot against the real service: the same calls as the sync client, awaited (shared core, async transport)."""

import asyncio
import wave

import pytest
from conftest import API_KEY, JFK, JFK_WORDS, SHORT, SHORT_WORDS, STREAM_MAX_WER, word_error_rate, words
from wire import assert_wire

import earshot
from earshot.types import Job, ProcessResponse

pytestmark = pytest.mark.anyio
EN = {"settings": {"tasks": ["transcribe"], "tra": {"language": "en"}}}


async def test_process_submit_wait_and_errors(server_url: str) -> None:
    async with earshot.AsyncEarshot(server_url, API_KEY) as client:
        # Two requests at once on one client.
        response, srt = await asyncio.gather(client.process(JFK, EN), client.process(SHORT.read_bytes(), {**EN, "format_output": "srt"}))
        assert_wire(response, ProcessResponse)
        assert JFK_WORDS in words(response["result"]["tra"]["text"])
        assert isinstance(srt, str) and "dark suit" in words(srt)

        accepted = await client.submit(SHORT, EN)
        progress = []
        job = await client.wait_for_job(accepted, poll_interval=0.1, on_progress=lambda p, _job: progress.append(p))
        assert_wire(job, Job)
        assert progress[-1] == 1
        assert accepted["job_id"] in {j["job_id"] for j in (await client.list_jobs(limit=100))["jobs"]}
        assert (await client.get_job(accepted))["status"] == "completed"
        assert (await client.cancel_job(accepted))["deleted"] is True

        with pytest.raises(earshot.EarshotApiError) as refused:
            await client.transcribe(b"not audio")
        assert (refused.value.status, refused.value.code) == (415, "unsupported_audio")


async def test_stream_async_chunks(server_url: str) -> None:
    async def chunks():
        with wave.open(str(SHORT), "rb") as wav:
            while True:
                chunk = wav.readframes(1600)
                if not chunk:
                    return
                yield chunk
                await asyncio.sleep(0)

    async with earshot.AsyncEarshot(server_url, API_KEY) as client:
        settings = {"tasks": ["transcribe"], "tra": {"language": "en"}}
        events = [e async for e in client.stream(chunks(), sample_rate=16000, settings=settings)]
    assert word_error_rate(SHORT_WORDS, " ".join(e["segment"]["text"] for e in events if e["type"] == "final")) <= STREAM_MAX_WER
