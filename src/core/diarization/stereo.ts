import type { DiarizationResult } from '../../../libs/contracts/process';
import { speechRegions, type SpeechProbabilityModel } from '../audio/vad';

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
    const speaker = `SPEAKER_${String(c).padStart(2, '0')}`;
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
