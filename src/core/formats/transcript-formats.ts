import { type NodeList, stringifySync } from 'subtitle';
import type { OutputFormat, TranscriptionResult } from '../../../libs/contracts/process';

export interface RenderedOutput {
  contentType: string;
  body: string;
}

/** Subtitle cues of a transcript; times in ms, each cue ends no later than the next one starts. */
function cues(result: TranscriptionResult): NodeList {
  const segments = result.segments;
  return segments.map((s, i) => {
    const start = Math.round(s.start * 1000);
    const next = i + 1 < segments.length ? Math.round(segments[i + 1].start * 1000) : Infinity;
    const end = Math.max(start + 1, Math.min(Math.round(s.end * 1000), next));
    return { type: 'cue' as const, data: { start, end, text: s.text } };
  });
}

/** A transcript in one of the text formats of `format_output` (json is the response body itself). */
export function renderTranscript(result: TranscriptionResult, format: Exclude<OutputFormat, 'json'>): RenderedOutput {
  switch (format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: result.text + '\n' };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: stringifySync(cues(result), { format: 'SRT' }) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: stringifySync(cues(result), { format: 'WebVTT' }) };
  }
}
