import { parseSync } from 'subtitle';
import type { TranscriptionResult } from '../../libs/contracts/process';
import { renderTranscript } from '../../src/server/core/formats/transcript-formats';

const segment = (id: number, start: number, end: number, text: string) => ({
  id,
  start,
  end,
  text,
  avg_logprob: -0.2,
  no_speech_prob: 0.01,
  compression_ratio: 1.2,
  temperature: 0,
});
const result: TranscriptionResult = {
  language: 'en',
  language_prob: 1,
  text: 'Hello there. General Kenobi!',
  segments: [segment(0, 0.5, 2.25, 'Hello there.'), segment(1, 2.2, 3661.5, 'General Kenobi!')],
};

test.each(['srt', 'vtt'] as const)('%s parses back to the segments, without overlaps', (format) => {
  const out = renderTranscript(result, format);
  const cues = parseSync(out.body)
    .filter((n) => n.type === 'cue')
    .map((n) => n.data as { start: number; end: number; text: string });
  expect(cues).toEqual(
    [
      { start: 500, end: 2200, text: 'Hello there.', ...(format === 'vtt' ? { settings: undefined } : {}) },
      { start: 2200, end: 3661500, text: 'General Kenobi!', ...(format === 'vtt' ? { settings: undefined } : {}) },
    ].map((c) => expect.objectContaining({ start: c.start, end: c.end, text: c.text })),
  );
  expect(out.body).toContain(format === 'srt' ? '01:01:01,500' : '01:01:01.500');
  if (format === 'vtt') expect(out.body.startsWith('WEBVTT')).toBe(true);
});

test('text is the transcript', () => {
  expect(renderTranscript(result, 'text')).toEqual({ contentType: 'text/plain; charset=utf-8', body: 'Hello there. General Kenobi!\n' });
});
