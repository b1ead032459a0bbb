/** Settings → pipeline request (defaults, refusals), with a stand-in engine: orchestration only. */
import type { ProcessResponse } from '../../libs/contracts/process';
import { EarshotError } from '../../src/contract/errors';
import type { PipelineRequest } from '../../src/contract/engine-types';
import { streamStartParser } from '../../src/server/api/stream/stream-start';
import { ProcessService } from '../../src/server/core/process-service';

const calls: PipelineRequest[] = [];
const service = new ProcessService(
  {
    process: async (_path, request) => {
      calls.push(request);
      return { audio: { duration_s: 1, sample_rate: 16000, channels: 1 }, timings_ms: { total: 1 }, result: {} };
    },
  },
  { has: (name) => name === 'whisper-tiny' || name === 'whisper-base' },
  { sttModel: 'whisper-tiny', batchSize: 8 },
);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EarshotError ? err.code : 'other';
  }
  return undefined;
}

test('defaults are filled in', () => {
  expect(service.toPipelineRequest({ settings: { tasks: ['transcribe', 'transcribe'] } })).toEqual({
    tasks: ['transcribe'],
    transcribe: {
      model: 'whisper-tiny',
      language: 'auto',
      task: 'transcribe',
      beamSize: 1,
      temperature: 0,
      wordTimestamps: false,
      initialPrompt: null,
      vadFilter: true,
      batchSize: 8,
    },
  });
  expect(
    service.toPipelineRequest({ settings: { tasks: ['transcribe'], tra: { model: 'whisper-base', language: 'DE', beam_size: 5 } } }).transcribe,
  ).toMatchObject({ model: 'whisper-base', language: 'de', beamSize: 5 });
});

test('unknown tasks and unknown models are refused with their codes', () => {
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['dance' as never] } }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['emotion'] } }))).toBe('model_not_found');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['transcribe'], tra: { model: 'nope' } } }))).toBe('model_not_found');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['summarize' as never] }, async_process: true }))).toBe('invalid_settings');
});

test('process returns the api.md envelope and renders text formats', async () => {
  const response = await service.process('/tmp/x', { settings: { tasks: ['transcribe'] } }, {});
  expect(response).toMatchObject({ status: 'completed', request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  expect(calls).toHaveLength(1);
  expect(service.render(response, 'json')).toBe(response);
});

test('diarization gets its options; with transcription, word timestamps are switched on', () => {
  const alone = service.toPipelineRequest({ settings: { tasks: ['diarization'], dia: { max_speakers: 3 } } });
  expect(alone.diarization).toEqual({ mode: 'diarize', numSpeakers: null, minSpeakers: null, maxSpeakers: 3, stereoMode: false });
  const both = service.toPipelineRequest({ settings: { tasks: ['transcribe', 'diarization'], dia: { stereo_mode: true } } });
  expect(both.diarization?.stereoMode).toBe(true);
  expect(both.transcribe.wordTimestamps).toBe(true);
  expect(service.toPipelineRequest({ settings: { tasks: ['transcribe'] } }).diarization).toBeUndefined();
});

test('diarization alone needs no installed speech model; impossible counts and misplaced rttm are invalid_settings', () => {
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['diarization'], tra: { model: 'nope' } } }))).toBeUndefined();
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['diarization'], dia: { num_speakers: 21 } } }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['diarization'], dia: { min_speakers: 3, max_speakers: 2 } } }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['transcribe', 'diarization'] }, format_output: 'rttm' }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['transcribe'] }, format_output: 'rttm' }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['diarization'] }, format_output: 'srt' }))).toBe('invalid_settings');
  expect(code(() => service.toPipelineRequest({ settings: { tasks: ['diarization'] }, format_output: 'rttm' }))).toBeUndefined();
});

test('rttm renders the turns under the request id', () => {
  const response: ProcessResponse = {
    status: 'completed',
    request_id: 'req-1',
    audio: { duration_s: 3, sample_rate: 16000, channels: 1 },
    timings_ms: {},
    result: { dia: { num_speakers: 1, turns: [{ start: 0.5, end: 2, speaker: 'SPEAKER_00' }], speakers: [{ id: 'SPEAKER_00', total_s: 1.5 }], embedder: 'x' } },
  };
  expect(service.render(response, 'rttm')).toEqual({
    contentType: 'text/plain; charset=utf-8',
    body: 'SPEAKER req-1 1 0.500 1.500 <NA> <NA> SPEAKER_00 <NA> <NA>\n',
  });
  expect(service.render(response, 'json')).toBe(response);
});

test("a stream without a model takes the streams' default, not the files' one; a named model is kept", async () => {
  const files = new ProcessService(
    { process: async () => Promise.reject(new Error('not called')) },
    { has: (name) => name === 'whisper-tiny' || name === 'whisper-base' },
    { sttModel: 'whisper-base', batchSize: 8 },
  );
  const parse = streamStartParser(files, 4, 'whisper-tiny');
  const unnamed = await parse(JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } }, sample_rate: 16000 }), 'anonymous');
  expect(unnamed.transcribe).toMatchObject({ model: 'whisper-tiny', language: 'en', batchSize: 4 });
  const bare = await parse(JSON.stringify({ settings: { tasks: ['transcribe'] }, sample_rate: 16000 }), 'anonymous');
  expect(bare.transcribe.model).toBe('whisper-tiny');
  const named = await parse(JSON.stringify({ settings: { tasks: ['transcribe'], tra: { model: 'whisper-base' } }, sample_rate: 16000 }), 'anonymous');
  expect(named.transcribe.model).toBe('whisper-base');
  expect(files.toPipelineRequest({ settings: { tasks: ['transcribe'] } }).transcribe.model).toBe('whisper-base');
});

describe('sensory-transcription settings', () => {
  const withEmotion = new ProcessService(
    { process: async () => ({ audio: { duration_s: 1, sample_rate: 16000, channels: 1 }, timings_ms: {}, result: {} }) },
    { has: (name) => name === 'whisper-tiny' },
    { sttModel: 'whisper-tiny', batchSize: 8, emotionModel: 'earshot-robust' },
    { has: (name) => name === 'earshot-robust' || name === 'earshot-ravdess' },
  );

  test('decoder fields become transcriber options; hotwords lead the prompt', () => {
    const transcribe = withEmotion.toPipelineRequest({
      settings: {
        tasks: ['transcribe'],
        tra: {
          temperature: [0.2, 0.6, 1],
          best_of: 3,
          patience: 2,
          compression_ratio_threshold: null,
          log_prob_threshold: -2,
          no_speech_threshold: 0.5,
          hotwords: 'Earshot Pounamu',
          initial_prompt: 'A meeting.',
          without_timestamps: true,
          max_new_tokens: 50,
        },
      },
    }).transcribe;
    expect(transcribe).toMatchObject({
      temperature: 0.2,
      temperatures: [0.2, 0.6, 1],
      bestOf: 3,
      patience: 2,
      compressionRatioThreshold: null,
      logProbThreshold: -2,
      noSpeechThreshold: 0.5,
      initialPrompt: 'Earshot Pounamu A meeting.',
      withoutTimestamps: true,
      maxNewTokens: 50,
    });
    const plain = withEmotion.toPipelineRequest({ settings: { tasks: ['transcribe'], tra: { temperature: 0.4 } } }).transcribe;
    expect(plain.temperature).toBe(0.4);
    expect(plain.temperatures).toBeUndefined();
    expect(code(() => withEmotion.toPipelineRequest({ settings: { tasks: ['transcribe'], tra: { temperature: [] } } }))).toBe('invalid_settings');
  });

  test('emotion levels: sentence times words, speaker runs diarization; model_name names the model', () => {
    const sentence = withEmotion.toPipelineRequest({ settings: { tasks: ['emotion'], emo: { analysis_level: 'sentence', model_name: 'gigaam_emo' } } });
    expect(sentence).toMatchObject({ tasks: ['emotion'], emotion: { level: 'sentence', model: 'earshot-robust' }, transcribe: { wordTimestamps: true } });
    expect(sentence.diarization).toBeUndefined();
    const speaker = withEmotion.toPipelineRequest({
      settings: { tasks: ['emotion'], dia: { use_gpu: true }, emo: { analysis_level: 'speaker', model_name: 'earshot-ravdess' } },
    });
    expect(speaker).toMatchObject({ tasks: ['emotion'], emotion: { level: 'speaker', model: 'earshot-ravdess' }, diarization: { numSpeakers: null } });
    expect(code(() => withEmotion.toPipelineRequest({ settings: { tasks: ['emotion'], emo: { model_name: 'nope' } } }))).toBe('model_not_found');
  });
});

test("a stream's dia.speakers is resolved for the connection's tenant and passed on with the speaker counts", async () => {
  const asked: Array<string | undefined> = [];
  const voices = [{ id: 'id-alice', name: 'alice', embedding: [1, 0] }];
  const withSpeakers = new ProcessService(
    { process: async () => Promise.reject(new Error('not called')) },
    { has: (name) => name === 'whisper-tiny' },
    { sttModel: 'whisper-tiny', batchSize: 8 },
    undefined,
    {
      pin: async () => [],
      identification: async (tenant, selection) => {
        asked.push(tenant);
        if (selection !== 'all' && !selection.every((s) => s === 'alice')) throw new EarshotError('speaker_not_found', `no "${selection[0]}"`);
        return { voices, threshold: 0.63 };
      },
    },
  );
  const parse = streamStartParser(withSpeakers, 4, 'whisper-tiny');
  const first = (dia: object, tasks = ['transcribe', 'diarization']) => JSON.stringify({ settings: { tasks, dia } });
  const start = await parse(first({ speakers: ['alice'], max_speakers: 3 }), 'tenant-a');
  expect(asked).toEqual(['tenant-a']);
  expect(start.speakers).toEqual({ mode: 'diarize', numSpeakers: null, minSpeakers: null, maxSpeakers: 3, identify: { voices, threshold: 0.63 } });
  expect((await parse(first({ mode: 'identify', speakers: 'all' }), 'tenant-a')).speakers).toMatchObject({ mode: 'identify' });
  const refused = async (text: string) =>
    parse(text, 'tenant-a').then(
      () => 'accepted',
      (err: EarshotError) => err.code,
    );
  expect(await refused(first({ speakers: ['carol'] }))).toBe('speaker_not_found');
  expect(await refused(first({ speakers: ['alice'] }, ['transcribe']))).toBe('invalid_settings');
  expect(await refused(first({ speakers: 'everyone' }))).toBe('invalid_settings');
  expect(await refused(first({ mode: 'identify' }))).toBe('invalid_request');
  expect(await refused(first({ speakers: 'all', stereo_mode: true }))).toBe('invalid_settings');
});
