import { type DiarizationResult, type MergedSegment, UNKNOWN_SPEAKER } from '../../../../libs/contracts/process';
import { type IdentifiedSegment, identifiedResult, nearestVoice } from '../../../../libs/diarization/voiceprint';
import type { SpeakerIdentification } from '../../../contract/diarization-settings';
import { speechRegions, type SpeechProbabilityModel } from '../audio/vad';
import type { Diarizer } from './diarizer';
import { speakerLabel } from './turns';

/**
 * A channel's segments of one name less than this apart are one turn: a reader's pauses inside a sentence split the
 * VAD regions, and the turn spans them. On the DEV audiobook conversation (test/support knownVoicesConversation) the
 * unenrolled reader's speech labelled `unknown` went from 89.6% (no merging) and 90.5% (0.2 s) to 94.0% (0.3–0.5 s);
 * gaps between two people's turns there are 0.3 s and more, but those turns have two names.
 */
export const TURN_GAP_S = 0.5;

/** Identified segments of one channel. */
export interface ChannelSegments {
  channel: number;
  segments: IdentifiedSegment[];
}

/**
 * `dia.mode: "identify"`: no clustering. Each voice-activity region of each channel (one for mono, two in stereo
 * mode) is embedded on its own and takes the name of the nearest enrolled voice at or above the match threshold,
 * or `unknown`.
 */
export async function identifySpeech(
  channels: Float32Array[],
  vad: SpeechProbabilityModel,
  diarizer: Pick<Diarizer, 'embed' | 'embedderName'>,
  identification: SpeakerIdentification,
): Promise<{ result: DiarizationResult; channels: ChannelSegments[] }> {
  const perChannel: ChannelSegments[] = [];
  for (let c = 0; c < channels.length; c++) {
    const segments = await speechSegmentVoices(channels[c], vad, diarizer);
    perChannel.push({
      channel: c,
      segments: segments.map(({ start, end, embedding }) => ({ start, end, match: nearestVoice(embedding, identification.voices, identification.threshold) })),
    });
  }
  return {
    result: identifiedResult(
      perChannel.map((c) => c.segments),
      diarizer.embedderName,
      TURN_GAP_S,
    ),
    channels: perChannel,
  };
}

/**
 * The speech segments of one channel (seconds) with the raw embedding of each: Silero VAD regions as stereo mode
 * cuts them (30 ms padding), which on the DEV conversations are the turns.
 */
export async function speechSegmentVoices(
  samples: Float32Array,
  vad: SpeechProbabilityModel,
  diarizer: Pick<Diarizer, 'embed'>,
  sampleRate = 16000,
): Promise<Array<{ start: number; end: number; embedding: Float32Array }>> {
  const regions = speechRegions(await vad.speechProbabilities(samples), samples.length, { speechPadMs: 30 });
  const embeddings = await diarizer.embed(
    samples,
    regions.map((r) => [[r.start, r.end]]),
  );
  return regions.map((r, i) => ({ start: r.start / sampleRate, end: r.end / sampleRate, embedding: embeddings[i] }));
}

/**
 * Stereo mode's transcript segments (speaker: their channel's SPEAKER_0c) relabelled with that channel's identified
 * segments: each segment takes the name of the identified segment it overlaps most (`unknown` when none), each word
 * likewise or its segment's.
 */
export function labelChannelTranscript(segments: MergedSegment[], channels: ChannelSegments[]): MergedSegment[] {
  const byLabel = new Map(channels.map((c) => [speakerLabel(c.channel), c.segments]));
  const nameOf = (identified: IdentifiedSegment[], start: number, end: number, fallback: string): string => {
    let best: IdentifiedSegment | null = null;
    let bestOverlap = 0;
    for (const s of identified) {
      const overlap = Math.min(end, s.end) - Math.max(start, s.start);
      if (overlap > bestOverlap) {
        bestOverlap = overlap;
        best = s;
      }
    }
    return best ? (best.match?.voice.name ?? UNKNOWN_SPEAKER) : fallback;
  };
  return segments.map((segment) => {
    const identified = segment.speaker === undefined ? undefined : byLabel.get(segment.speaker);
    if (!identified) return segment;
    const speaker = nameOf(identified, segment.start, segment.end, UNKNOWN_SPEAKER);
    return {
      ...segment,
      speaker,
      ...(segment.words ? { words: segment.words.map((w) => ({ ...w, speaker: nameOf(identified, w.start, w.end, speaker) })) } : {}),
    };
  });
}
