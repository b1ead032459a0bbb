/** Diarization settings through ProcessService (a stand-in engine: orchestration only). */
import type { ProcessResponse } from '../../libs/contracts/process';
import { EarshotError } from '../../src/core/errors';
import { ProcessService } from '../../src/core/process-service';

const service = new ProcessService(
  { process: async () => ({ audio: { duration_s: 1, sample_rate: 16000, channels: 1 }, timings_ms: {}, result: {} }) },
  { has: (name) => name === 'whisper-tiny' },
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

test('diarization gets its options; with transcription, word timestamps are switched on', () => {
  const alone = service.toPipelineRequest({ settings: { tasks: ['diarization'], dia: { max_speakers: 3 } } });
  expect(alone.diarization).toEqual({ numSpeakers: null, minSpeakers: null, maxSpeakers: 3, stereoMode: false });
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
