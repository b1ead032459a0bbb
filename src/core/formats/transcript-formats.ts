import { type NodeList, stringifySync } from 'subtitle';
import type { MergedSegment, OutputFormat, TranscriptionResult } from '../../../libs/contracts/process';

export interface RenderedOutput {
  contentType: string;
  body: string;
}

interface CueSource {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

/** Subtitle cues; times in ms, each cue ends no later than the next one starts. */
function cues(segments: CueSource[], label: (s: CueSource) => string): NodeList {
  return segments.map((s, i) => {
    const start = Math.round(s.start * 1000);
    const next = i + 1 < segments.length ? Math.round(segments[i + 1].start * 1000) : Infinity;
    const end = Math.max(start + 1, Math.min(Math.round(s.end * 1000), next));
    return { type: 'cue' as const, data: { start, end, text: label(s) } };
  });
}

/** `[SPEAKER_00] …` lines, one per change of speaker. */
function speakerText(segments: MergedSegment[]): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (const s of segments) {
    if (lines.length > 0 && s.speaker === current) lines[lines.length - 1] += ` ${s.text}`;
    else lines.push(s.speaker ? `[${s.speaker}] ${s.text}` : s.text);
    current = s.speaker;
  }
  return lines.join('\n');
}

/**
 * A transcript in one of the text formats of `format_output` (json is the response body itself). With merged
 * segments that carry speakers, text gets `[SPEAKER_00]` prefixes, SRT the same in each cue, WebVTT voice tags.
 */
export function renderTranscript(
  result: TranscriptionResult,
  format: Exclude<OutputFormat, 'json' | 'rttm'>,
  merged?: MergedSegment[],
): RenderedOutput {
  const diarized = merged?.some((s) => s.speaker !== undefined) ?? false;
  const segments: CueSource[] = diarized ? merged! : result.segments;
  switch (format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: (diarized ? speakerText(merged!) : result.text) + '\n' };
    case 'srt':
      return {
        contentType: 'application/x-subrip; charset=utf-8',
        body: stringifySync(cues(segments, (s) => (s.speaker ? `[${s.speaker}] ${s.text}` : s.text)), { format: 'SRT' }),
      };
    case 'vtt':
      return {
        contentType: 'text/vtt; charset=utf-8',
        body: stringifySync(cues(segments, (s) => (s.speaker ? `<v ${s.speaker}>${s.text}` : s.text)), { format: 'WebVTT' }),
      };
  }
}
