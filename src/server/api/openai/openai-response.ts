import type { ProcessResponse } from '../../../../libs/contracts/process';
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

/** `json` and `verbose_json` bodies in OpenAI's shape; the text formats are Earshot's own renderings. */
export function openAIBody(
  response: ProcessResponse,
  format: Exclude<OpenAIResponseFormat, 'text' | 'srt' | 'vtt'>,
  task: 'transcribe' | 'translate',
  granularities: TimestampGranularity[],
): object {
  const tra = response.result.tra!;
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
      })),
    }),
    ...(granularities.includes('word') && {
      words: tra.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word, start: w.start, end: w.end }))),
    }),
    ...earshotExtras(response),
  };
}
