"""Drives /v1/ws as the seed service's published client (PyPI sensory-transcription 0.1.0.7) does, with its own pieces.

Its StreamingClient.iter_chunks cannot run as published (it `async for`s over the chunker's plain generator), so this
repeats its loop: the ProcessRequest model as the first frame, the package's chunker for the audio, after each chunk
whatever the server sent within 50 ms, then b"" and everything until the server closes. Every text message goes
through StreamingChunkResponse.model_validate_json, as in the client. Prints one JSON line per parsed chunk, then a
summary line.

usage: seed_stream_client.py WS_BASE_URL WAV_PATH SETTINGS_JSON
"""
import asyncio
import json
import sys

import websockets
from pydantic import ValidationError
from sensory_transcription.client.core.chunker import iter_chunks
from sensory_transcription.models import ProcessRequest, StreamingChunkResponse, TranscriptionSettings


async def main(base: str, wav: str, settings_json: str) -> None:
    parsed, ignored = [], 0

    def take(msg) -> None:
        nonlocal ignored
        if isinstance(msg, bytes):
            return
        try:
            parsed.append(StreamingChunkResponse.model_validate_json(msg))
        except ValidationError:
            ignored += 1

    async with websockets.connect(base + "/v1/ws") as ws:
        request = ProcessRequest(settings=TranscriptionSettings(**json.loads(settings_json)), async_process=False, format_output="json")
        await ws.send(request.model_dump_json())
        for chunk in iter_chunks(wav, chunk_sec=0.5):
            await ws.send(chunk)
            while True:
                try:
                    take(await asyncio.wait_for(ws.recv(), timeout=0.05))
                except asyncio.TimeoutError:
                    break
        await ws.send(b"")
        try:
            async for msg in ws:
                take(msg)
        except websockets.exceptions.ConnectionClosedOK:
            pass
        close_code = ws.close_code
    for chunk in parsed:
        print(json.dumps({"chunk": chunk.model_dump()}))
    print(json.dumps({"summary": {"parsed": len(parsed), "ignored": ignored, "close_code": close_code}}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
