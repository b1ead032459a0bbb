/** OpenAI audio form fields → the ProcessRequest the pipeline runs, and the refusals, without HTTP. */
import { EarshotError } from '../../src/contract/errors';
import { toProcessRequest } from '../../src/server/api/openai/openai-request';
import { languageName, segmentSpeaker } from '../../src/server/api/openai/openai-response';

const fields = (entries: Record<string, string | string[]>) => new Map(Object.entries(entries).map(([k, v]) => [k, [v].flat()]));

test('whisper-1 means the default model; the other fields map onto tra settings', () => {
  expect(toProcessRequest(fields({ model: 'whisper-1' }), 'transcribe')).toEqual({
    request: { settings: { tasks: ['transcribe'], tra: { task: 'transcribe', word_timestamps: false } } },
    responseFormat: 'json',
    granularities: ['segment'],
  });
  const mapped = toProcessRequest(
    fields({
      model: 'whisper-base',
      language: 'de',
      prompt: 'Namen: Jürgen',
      temperature: '0.4',
      response_format: 'verbose_json',
      'timestamp_granularities[]': ['word', 'segment'],
    }),
    'transcribe',
  );
  expect(mapped.request.settings.tra).toEqual({
    model: 'whisper-base',
    language: 'de',
    task: 'transcribe',
    temperature: 0.4,
    initial_prompt: 'Namen: Jürgen',
    word_timestamps: true,
  });
  expect(mapped.granularities).toEqual(['word', 'segment']);
});

test('translations ignore language and run the translate task', () => {
  const { request } = toProcessRequest(fields({ language: 'fr' }), 'translate');
  expect(request.settings.tra).toEqual({ task: 'translate', word_timestamps: false });
});

test('task flags add their tasks; false leaves them out', () => {
  expect(toProcessRequest(fields({ diarize: 'true', emotion: '1' }), 'transcribe').request.settings.tasks).toEqual(['transcribe', 'diarization', 'emotion']);
  expect(toProcessRequest(fields({ enable_speaker_diarization: 'true', emotion: 'false' }), 'transcribe').request.settings.tasks).toEqual([
    'transcribe',
    'diarization',
  ]);
});

test('bad fields are refused with invalid_request', () => {
  const bad: Array<Record<string, string>> = [
    { response_format: 'docx' },
    { temperature: 'warm' },
    { 'timestamp_granularities[]': 'word' },
    { response_format: 'verbose_json', 'timestamp_granularities[]': 'sentence' },
    { diarize: 'maybe' },
  ];
  for (const entries of bad) {
    let caught: unknown;
    try {
      toProcessRequest(fields(entries), 'transcribe');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EarshotError);
    expect((caught as EarshotError).code).toBe('invalid_request');
  }
});

test('languages are named in English, lower case, as OpenAI names them', () => {
  expect(['en', 'de', 'zh', 'pt'].map(languageName)).toEqual(['english', 'german', 'chinese', 'portuguese']);
});

test('speakers names enrolled speakers ("all" or comma-separated ids or names) and implies diarization', () => {
  expect(toProcessRequest(fields({ speakers: 'alice, bob' }), 'transcribe').request.settings).toMatchObject({
    tasks: ['transcribe', 'diarization'],
    dia: { speakers: ['alice', 'bob'] },
  });
  expect(toProcessRequest(fields({ speakers: 'all', diarize: 'true' }), 'transcribe').request.settings).toMatchObject({
    tasks: ['transcribe', 'diarization'],
    dia: { speakers: 'all' },
  });
});

test('diarization_mode is dia.mode (identify with speakers, no clustering) and implies diarization; other modes are refused', () => {
  expect(toProcessRequest(fields({ speakers: 'alice', diarization_mode: 'identify' }), 'transcribe').request.settings).toMatchObject({
    tasks: ['transcribe', 'diarization'],
    dia: { speakers: ['alice'], mode: 'identify' },
  });
  expect(toProcessRequest(fields({ diarization_mode: 'diarize' }), 'transcribe').request.settings).toMatchObject({
    tasks: ['transcribe', 'diarization'],
    dia: { mode: 'diarize' },
  });
  expect(() => toProcessRequest(fields({ speakers: 'all', diarization_mode: 'nearest' }), 'transcribe')).toThrow(/diarization_mode must be one of/);
});

test("a verbose_json segment's speaker is the one covering most of it in the merged view", () => {
  const merged = [
    { start: 0, end: 1.2, text: 'a', speaker: 'alice' },
    { start: 1.2, end: 1.5, text: 'b', speaker: 'SPEAKER_01' },
    { start: 1.5, end: 4, text: 'c', speaker: 'SPEAKER_01' },
  ];
  expect(segmentSpeaker({ start: 0, end: 2 }, merged)).toBe('alice');
  expect(segmentSpeaker({ start: 1, end: 4 }, merged)).toBe('SPEAKER_01');
  expect(segmentSpeaker({ start: 5, end: 6 }, merged)).toBeUndefined();
});
