"""The package's wire types against the service: the request types against the OpenAPI document it serves
(/docs-json); the answers are checked against real answers where each test gets one (wire.assert_wire)."""

from typing import Optional, TypedDict, Union

import httpx
import pytest
from wire import openapi_mismatches

from earshot.types import DiarizationSettings, EmotionSettings, ProcessRequest, ProcessSettings, TranscribeSettings


@pytest.fixture(scope="module")
def components(server_url: str) -> dict:
    document = httpx.get(f"{server_url}/docs-json").raise_for_status().json()
    return document["components"]["schemas"]


def test_the_request_types_match_the_openapi_document(components: dict) -> None:
    # ProcessRequest refers to ProcessSettings, which refers to the three settings types: all are compared.
    assert openapi_mismatches(ProcessRequest, components) == []
    for typed in (ProcessSettings, TranscribeSettings, DiarizationSettings, EmotionSettings):
        assert f"{typed.__name__}Dto" in components


# TranscribeSettings as it would be after careless edits: a wrong type, an invented field, a dropped one (vad_filter).
class DriftedTranscribeSettings(TypedDict, total=False):
    model: str
    language: str
    task: str
    beam_size: float
    temperature: Union[float, list[float]]
    word_timestamps: bool
    initial_prompt: Optional[str]
    best_of: int
    patience: float
    compression_ratio_threshold: Optional[float]
    log_prob_threshold: Optional[float]
    no_speech_threshold: Optional[float]
    hotwords: Optional[str]
    without_timestamps: bool
    max_new_tokens: Optional[int]
    speed: float


def test_a_drifted_type_is_reported(components: dict) -> None:
    assert openapi_mismatches(DriftedTranscribeSettings, components, "TranscribeSettingsDto") == [
        "DriftedTranscribeSettings.speed: in the Python type, not in the service's schema",
        "DriftedTranscribeSettings.vad_filter: in the service's schema, missing from the Python type",
        "DriftedTranscribeSettings.beam_size: Python {'type': 'number'} != schema {'type': 'integer'}",
        "DriftedTranscribeSettings.task: Python {'type': 'string'} != schema {'type': 'string', 'enum': ['transcribe', 'translate']}",
    ]
