import { type NodeList, stringifySync } from 'subtitle';
import type { MergedSegment, OutputFormat, TranscriptionResult } from '../../../../libs/contracts/process';

export interface RenderedOutput {
  contentType: string;
  body: string;
}

interface CueSource {
  start: number;
  end: number;
  text: string;
  speaker?: string;
  emotion?: string;
}

/** Subtitle cues; times in ms, each cue ends no later than the next one starts. */
function cues(segments: CueSource[], label: (s: CueSource) => string): NodeList {
  return segments.map((s, i) => {
    const start = Math.round(s.start * 1000);
    const next = i + 1 < segments.length ? Math.round(segments[i + 1].start * 1000) : Infinity;
    const end = Math.max(start, Math.min(Math.round(s.end * 1000), next));
    return { type: 'cue', data: { start, end, text: label(s) } };
  });
}

/** "[SPEAKER_00] (angry) " for whichever tags a merged segment has. */
function tagPrefix(s: CueSource, withSpeaker = true): string {
  const tags = [withSpeaker && s.speaker && `[${s.speaker}]`, s.emotion && `(${s.emotion})`].filter(Boolean);
  return tags.length > 0 ? `${tags.join(' ')} ` : '';
}

/** One line per run of segments with the same speaker and emotion, tagged with them. */
function taggedText(segments: MergedSegment[]): string {
  const lines: string[] = [];
  let previous: MergedSegment | undefined;
  for (const s of segments) {
    const text = s.text.trim();
    if (previous && s.speaker === previous.speaker && s.emotion === previous.emotion) lines[lines.length - 1] += ` ${text}`;
    else lines.push(tagPrefix(s) + text);
    previous = s;
  }
  return lines.join('\n');
}

/**
 * A transcript in one of the text formats of `format_output` (json is the response body itself). With merged
 * segments that carry a speaker or an emotion, text lines and SRT cues get `[SPEAKER_00] (angry)` tags and WebVTT
 * cues voice tags for the speaker.
 */
export function renderTranscript(result: TranscriptionResult, format: Exclude<OutputFormat, 'json' | 'rttm'>, merged?: MergedSegment[]): RenderedOutput {
  const tagged = merged?.some((s) => s.speaker !== undefined || s.emotion !== undefined) ?? false;
  const segments: CueSource[] = tagged ? merged! : result.segments;
  switch (format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: (tagged ? taggedText(merged!) : result.text) + '\n' };
    case 'srt':
      return {
        contentType: 'application/x-subrip; charset=utf-8',
        body: stringifySync(
          cues(segments, (s) => tagPrefix(s) + s.text.trim()),
          { format: 'SRT' },
        ),
      };
    case 'vtt':
      return {
        contentType: 'text/vtt; charset=utf-8',
        body: stringifySync(
          cues(segments, (s) => (s.speaker ? `<v ${s.speaker}>` : '') + tagPrefix(s, false) + s.text.trim()),
          { format: 'WebVTT' },
        ),
      };
  }
}
