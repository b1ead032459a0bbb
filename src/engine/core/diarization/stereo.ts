import type { DiarizationResult, MergedSegment, TranscriptionResult, TranscriptSegment } from '../../../../libs/contracts/process';
import { speechRegions, type SpeechProbabilityModel } from '../audio/vad';
import { speakerLabel } from './turns';

export const STEREO_EMBEDDER_NAME = 'none (stereo_mode: one speaker per channel)';

/**
 * Stereo mode: each channel is one speaker (SPEAKER_00 the first), whose turns are the channel's voice activity.
 * No clustering: call-centre recordings put each party on its own channel.
 */
export async function diarizeChannels(channels: Float32Array[], vad: SpeechProbabilityModel, sampleRate = 16000): Promise<DiarizationResult> {
  const turns: DiarizationResult['turns'] = [];
  const speakers: DiarizationResult['speakers'] = [];
  const round = (s: number): number => Math.round(s * 1000) / 1000;
  for (let c = 0; c < channels.length; c++) {
    const speaker = speakerLabel(c);
    // Little padding: here the regions are the answer, not a cut for Whisper.
    const regions = speechRegions(await vad.speechProbabilities(channels[c]), channels[c].length, { speechPadMs: 30 });
    let total = 0;
    for (const r of regions) {
      turns.push({ start: round(r.start / sampleRate), end: round(r.end / sampleRate), speaker });
      total += (r.end - r.start) / sampleRate;
    }
    if (regions.length > 0) speakers.push({ id: speaker, total_s: round(total) });
  }
  turns.sort((a, b) => a.start - b.start || a.speaker.localeCompare(b.speaker));
  return { num_speakers: speakers.length, turns, speakers, embedder: STEREO_EMBEDDER_NAME };
}

/**
 * Stereo mode with transcription: each channel is transcribed on its own (crosstalk stays with its speaker), and the
 * segments of all channels are put in time order, each with its channel's speaker.
 */
export async function transcribeChannels(
  channels: Float32Array[],
  transcribe: (samples: Float32Array) => Promise<TranscriptionResult>,
): Promise<{ tra: TranscriptionResult; segments: MergedSegment[] }> {
  const tagged: Array<{ segment: TranscriptSegment; speaker: string }> = [];
  let language: { code: string; prob: number } | null = null;
  for (let c = 0; c < channels.length; c++) {
    const result = await transcribe(channels[c]);
    const speaker = speakerLabel(c);
    for (const segment of result.segments) tagged.push({ segment, speaker });
    if (result.segments.length > 0 && (!language || result.language_prob > language.prob)) language = { code: result.language, prob: result.language_prob };
  }
  tagged.sort((a, b) => a.segment.start - b.segment.start || a.speaker.localeCompare(b.speaker));
  const segments = tagged.map(({ segment }, id) => ({ ...segment, id }));
  return {
    tra: {
      language: language?.code ?? 'en',
      language_prob: language?.prob ?? 0,
      text: segments.map((s) => s.text.trim()).join(' '),
      segments,
    },
    segments: tagged.map(({ segment, speaker }) => ({
      start: segment.start,
      end: segment.end,
      text: segment.text.trim(),
      speaker,
      ...(segment.words ? { words: segment.words.map((w) => ({ word: w.word, start: w.start, end: w.end, speaker })) } : {}),
    })),
  };
}
