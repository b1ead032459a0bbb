import { type NodeList, stringifySync } from 'subtitle';
import type { MergedSegment, OutputFormat, TranscriptionResult } from '../../../libs/contracts/process';

export interface RenderedOutput {
  contentType: string;
  body: string;
}

/** "[SPEAKER_00] (angry) " in front of a merged segment's text, for whichever tags it has. */
function tagged(s: { text: string; speaker?: string; emotion?: string }): string {
  const tags = [s.speaker && `[${s.speaker}]`, s.emotion && `(${s.emotion})`].filter(Boolean);
  return tags.length > 0 ? `${tags.join(' ')} ${s.text.trim()}` : s.text;
}

/** Subtitle cues of segments; times in ms, each cue ends no later than the next one starts. */
function cues(segments: Array<{ start: number; end: number; text: string }>): NodeList {
  return segments.map((s, i) => {
    const start = Math.round(s.start * 1000);
    const next = i + 1 < segments.length ? Math.round(segments[i + 1].start * 1000) : Infinity;
    const end = Math.max(start + 1, Math.min(Math.round(s.end * 1000), next));
    return { type: 'cue' as const, data: { start, end, text: s.text } };
  });
}

/**
 * A transcript in one of the text formats of `format_output` (json is the response body itself). With `merged`
 * (the merged view, when more than one task ran), lines and cues follow it and carry its speaker/emotion tags.
 */
export function renderTranscript(result: TranscriptionResult, format: Exclude<OutputFormat, 'json'>, merged?: MergedSegment[]): RenderedOutput {
  const segments = merged ? merged.map((s) => ({ ...s, text: tagged(s) })) : result.segments;
  switch (format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: (merged ? segments.map((s) => s.text).join('\n') : result.text) + '\n' };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: stringifySync(cues(segments), { format: 'SRT' }) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: stringifySync(cues(segments), { format: 'WebVTT' }) };
  }
}
