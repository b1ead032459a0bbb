"""The sensory-transcription 0.1.0.7 client's own models, for the compat tests (run in a venv that has the package).

  request  '<TranscriptionSettings kwargs as JSON>' ['<ProcessRequest kwargs as JSON>']
           prints ProcessRequest(...).model_dump_json(): the request_json that client sends.
  response  (a response body on stdin) prints ProcessResponse.model_validate(body).model_dump_json(), or fails.
"""

import json
import sys

from sensory_transcription.models import ProcessRequest, ProcessResponse, TranscriptionSettings

if sys.argv[1] == "request":
    settings = TranscriptionSettings(**json.loads(sys.argv[2]))
    extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    print(ProcessRequest(settings=settings, **extra).model_dump_json())
elif sys.argv[1] == "response":
    print(ProcessResponse.model_validate(json.loads(sys.stdin.read())).model_dump_json())
else:
    sys.exit(f"unknown command {sys.argv[1]}")
