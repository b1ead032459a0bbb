import type { MergedSegment, ProcessResponse, TranscriptSegment } from '../../../../libs/contracts/process';
import type { OpenAIResponseFormat, TimestampGranularity } from './openai-request';

const LANGUAGE_NAMES = new Intl.DisplayNames(['en'], { type: 'language' });

/** OpenAI names languages in English, lower case ("english"); Earshot answers with the ISO code. */
export function languageName(code: string): string {
  try {
    return (LANGUAGE_NAMES.of(code) ?? code).toLowerCase();
  } catch {
    return code;
  }
}

/** The Earshot sections that have no OpenAI counterpart, passed along when their tasks ran. */
function earshotExtras(response: ProcessResponse) {
  const { dia, emo, segments } = response.result;
  return { ...(dia && { dia }), ...(emo && { emo }), ...(segments && { merged_segments: segments }) };
}

/**
 * The speaker of a transcript segment: the one whose merged-view pieces (each word's speaker) cover most of it, as
 * OpenAI's diarized segments carry `speaker`; an enrolled speaker's name when dia.speakers named it.
 */
export function segmentSpeaker(segment: Pick<TranscriptSegment, 'start' | 'end'>, merged: readonly MergedSegment[]): string | undefined {
  const seconds = new Map<string, number>();
  for (const m of merged) {
    const overlap = Math.min(m.end, segment.end) - Math.max(m.start, segment.start);
    if (m.speaker !== undefined && overlap > 0) seconds.set(m.speaker, (seconds.get(m.speaker) ?? 0) + overlap);
  }
  return [...seconds].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * `json` and `verbose_json` bodies in OpenAI's shape; the text formats are Earshot's own renderings. With diarization,
 * verbose_json segments also carry their `speaker`.
 */
export function openAIBody(
  response: ProcessResponse,
  format: Exclude<OpenAIResponseFormat, 'text' | 'srt' | 'vtt'>,
  task: 'transcribe' | 'translate',
  granularities: TimestampGranularity[],
): object {
  const tra = response.result.tra!;
  const merged = response.result.dia ? (response.result.segments ?? []) : [];
  if (format === 'json') return { text: tra.text, ...earshotExtras(response) };
  return {
    task,
    language: languageName(tra.language),
    duration: response.audio.duration_s,
    text: tra.text,
    ...(granularities.includes('segment') && {
      segments: tra.segments.map((s) => ({
        id: s.id,
        start: s.start,
        end: s.end,
        text: s.text,
        temperature: s.temperature,
        avg_logprob: s.avg_logprob,
        compression_ratio: s.compression_ratio,
        no_speech_prob: s.no_speech_prob,
        ...(merged.length > 0 && { speaker: segmentSpeaker(s, merged) }),
      })),
    }),
    ...(granularities.includes('word') && {
      words: tra.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word, start: w.start, end: w.end }))),
    }),
    ...earshotExtras(response),
  };
}
