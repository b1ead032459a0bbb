/** The compatible APIs' pure translations: NLS frames and answers, the task service's shapes. */
import type { Job, ProcessResponse, QueueStats, StreamServerMessage, TranscriptSegment } from '../../libs/contracts/process';
import { asrResponse, hotwordsOf, nlsErrorBody, NlsTranslator } from '../../src/server/api/compat/funasr/nls-protocol';
import { queueStatus, taskResult, taskStats } from '../../src/server/api/compat/tasks/task-shapes';

const segment = (start: number, end: number, text: string): TranscriptSegment => ({
  id: 0,
  start,
  end,
  text,
  avg_logprob: -0.1,
  no_speech_prob: 0.01,
  compression_ratio: 1.2,
  temperature: 0,
  words: [{ word: text, start, end, prob: 0.9 }],
});
/** A /v1/ws final as the stream sends it: the segment, and its fields again at the top level (seed clients). */
const final = (s: TranscriptSegment): StreamServerMessage => ({ type: 'final', segment: s, start: s.start, end: s.end, text: s.text, words: s.words ?? [] });

describe('NLS real-time frames', () => {
  it('opens each sentence once, before its partials, and numbers sentences from 1', () => {
    const t = new NlsTranslator();
    t.startTask('task-1');
    const names = (frames: ReturnType<NlsTranslator['frames']>) => frames.map((f) => f.header.name);
    expect(names(t.frames({ type: 'ready' }))).toEqual(['TranscriptionStarted']);
    const first = t.frames({ type: 'partial', text: 'hel', start: 0.5, end: 1 });
    expect(names(first)).toEqual(['SentenceBegin', 'TranscriptionResultChanged']);
    expect(first[0].payload).toEqual({ index: 1, time: 500 });
    expect(names(t.frames({ type: 'partial', text: 'hello', start: 0.5, end: 1.2 }))).toEqual(['TranscriptionResultChanged']);
    const end = t.frames(final(segment(0.5, 1.5, 'Hello.')));
    expect(names(end)).toEqual(['SentenceEnd']);
    expect(end[0].payload).toMatchObject({
      index: 1,
      time: 1500,
      begin_time: 500,
      result: 'Hello.',
      words: [{ text: 'Hello.', startTime: 500, endTime: 1500 }],
    });
    expect(end[0].payload.confidence).toBeCloseTo(Math.exp(-0.1), 3);
    // A final with no partial before it still opens its sentence.
    expect(t.frames(final(segment(2, 3, 'Bye.'))).map((f) => [f.header.name, f.payload.index])).toEqual([
      ['SentenceBegin', 2],
      ['SentenceEnd', 2],
    ]);
    expect(names(t.frames({ type: 'done' }))).toEqual(['TranscriptionCompleted']);
    const failed = t.frames({ type: 'error', code: 'idle_timeout', message: 'no frame for 30 s' })[0];
    expect(failed.header).toMatchObject({ name: 'TaskFailed', status: 40000004, status_text: 'no frame for 30 s', task_id: 'task-1' });
  });

  it('REST answer: speakers named in order of appearance, one line each; words only when asked', () => {
    const response: ProcessResponse = {
      status: 'completed',
      request_id: 'r',
      audio: { duration_s: 4.5678, sample_rate: 16000, channels: 1 },
      timings_ms: {},
      result: {
        tra: { language: 'en', language_prob: 1, text: 'Hi. Yes. Ok.', segments: [] },
        dia: { num_speakers: 2, turns: [], speakers: [], embedder: 'x' },
        segments: [
          { start: 0, end: 1, text: 'Hi.', speaker: 'SPEAKER_01', words: [{ word: 'Hi.', start: 0, end: 1 }] },
          { start: 1, end: 2, text: 'Yes.', speaker: 'SPEAKER_00' },
          { start: 2, end: 3, text: 'Ok.', speaker: 'SPEAKER_01' },
        ],
      },
    };
    const answer = asrResponse('t', response, 1.23456, false);
    expect(answer).toMatchObject({
      task_id: 't',
      status: 200,
      message: 'SUCCESS',
      duration: 4.57,
      processing_time: 1.235,
      result: 'Speaker1 Hi.\nSpeaker2 Yes.\nSpeaker1 Ok.',
    });
    expect(answer.segments.map((s) => s.speaker_id)).toEqual(['Speaker1', 'Speaker2', 'Speaker1']);
    expect(answer.segments[0].word_tokens).toBeUndefined();
    expect(asrResponse('t', response, 1, true).segments[0].word_tokens).toEqual([{ text: 'Hi.', start_time: 0, end_time: 1 }]);
  });

  it('vocabulary weights are dropped; errors carry NLS codes', () => {
    expect(hotwordsOf('阿里巴巴 20 腾讯 15')).toBe('阿里巴巴 腾讯');
    expect(hotwordsOf('  ')).toBeUndefined();
    expect(nlsErrorBody('t', 'unauthorized', 'no key')).toEqual({ task_id: 't', result: '', status: 40000001, message: 'no key' });
    expect(nlsErrorBody('t', 'invalid_settings', 'x').status).toBe(40000003);
  });
});

describe('task service shapes', () => {
  const job = (over: Partial<Job>): Job => ({
    job_id: 'j',
    status: 'queued',
    progress: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    attempts: 0,
    max_attempts: 3,
    ...over,
  });
  const done = (duration: number, totalMs: number): Job =>
    job({
      status: 'completed',
      progress: 1,
      result: {
        status: 'completed',
        request_id: 'r',
        audio: { duration_s: duration, sample_rate: 16000, channels: 1 },
        timings_ms: { total: totalMs },
        result: { tra: { language: 'en', language_prob: 1, text: 'hi', segments: [] } },
      },
    });

  it("job states read as that service's: completed is done, cancelled is failed", () => {
    expect(taskResult(done(2, 500))).toMatchObject({
      status: 'done',
      text: 'hi',
      duration: 2,
      audio_url: '/api/v1/asr/audio/j',
      retry_url: null,
      progress: 100,
    });
    expect(taskResult(job({ status: 'cancelled' }))).toMatchObject({ status: 'failed', error: 'cancelled', retry_url: '/api/v1/asr/retry/j', text: null });
    expect(taskResult(job({ status: 'failed', error: { code: 'unsupported_audio', message: 'bad' } })).error).toBe('bad');
  });

  it('stats over completed jobs: audio seconds and processing over audio', () => {
    expect(taskStats([done(10, 2000), done(30, 2000), job({ status: 'failed' })], 3 * 1048576)).toEqual({
      total_tasks: 2,
      total_duration: 40,
      avg_rtf: 0.1,
      storage_used: '3.00 MB',
    });
    expect(taskStats([], 0)).toEqual({ total_tasks: 0, total_duration: 0, avg_rtf: 0, storage_used: '0.00 MB' });
    const stats: QueueStats = {
      backend: 'sqlite',
      depth: { queued: 3, processing: 2, completed: 9, failed: 1, cancelled: 0 },
      workers: 1,
      oldest_queued_age_s: 4,
    };
    expect(queueStatus(stats)).toEqual({ queued: 3, processing: 2, failed: 1, workers: 1, workers_busy: 1 });
  });
});
