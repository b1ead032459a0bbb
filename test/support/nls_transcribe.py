"""One real-time transcription with Alibaba Cloud's Python NLS SDK (alibabacloud-nls-python-sdk), for the compat tests.

  nls_transcribe.py <ws url> <token> <wav file: PCM16 mono 16 kHz>
prints a JSON list of the frames the SDK handed to its callbacks, in order.
"""

import json
import sys
import wave

import nls

url, token, path = sys.argv[1:4]
frames = []


def record(message, *_args):
    frames.append(json.loads(message))


transcriber = nls.NlsSpeechTranscriber(
    url=url, token=token, appkey="any-appkey",
    on_start=record, on_sentence_begin=record, on_result_changed=record, on_sentence_end=record,
    on_completed=record, on_error=record,
)
transcriber.start(aformat="pcm", sample_rate=16000, enable_intermediate_result=True)
with wave.open(path) as audio:
    pcm = audio.readframes(audio.getnframes())
for at in range(0, len(pcm), 3200):
    transcriber.send_audio(pcm[at:at + 3200])
# The flush decodes the last sentences; a busy test machine needs longer than the SDK's 10 s default.
transcriber.stop(timeout=120)
print(json.dumps(frames))
