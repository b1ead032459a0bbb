import type { DiarizationSettings } from '../../libs/contracts/process';
import { EarshotError } from './errors';
import type { EnrolledVoice } from '../../libs/diarization/voiceprint';

export const MAX_SPEAKERS = 20;

/** Diarization settings of one request after validation. */
export interface DiarizationOptions {
  numSpeakers: number | null;
  minSpeakers: number | null;
  maxSpeakers: number | null;
  /** Each channel of a stereo file is one speaker. */
  stereoMode: boolean;
  /** Enrolled voices to name the diarized speakers by (filled in from dia.speakers by the process service). */
  identify?: SpeakerIdentification;
}

export interface SpeakerIdentification {
  voices: EnrolledVoice[];
  /** Lowest cosine between a speaker's voice and a voiceprint that names it. */
  threshold: number;
}

/** `settings.dia` → options; impossible counts (0, over 20, min above max) are invalid_settings (422). */
export function diarizationOptions(dia: DiarizationSettings): DiarizationOptions {
  const count = (name: keyof DiarizationSettings, value: number | null | undefined): number | null => {
    if (value == null) return null;
    if (!Number.isInteger(value) || value < 1 || value > MAX_SPEAKERS) {
      throw new EarshotError('invalid_settings', `dia.${name} must be a whole number from 1 to ${MAX_SPEAKERS}, got ${value}`);
    }
    return value;
  };
  const numSpeakers = count('num_speakers', dia.num_speakers);
  const minSpeakers = count('min_speakers', dia.min_speakers);
  const maxSpeakers = count('max_speakers', dia.max_speakers);
  if (minSpeakers !== null && maxSpeakers !== null && minSpeakers > maxSpeakers) {
    throw new EarshotError('invalid_settings', `dia.min_speakers (${minSpeakers}) is above dia.max_speakers (${maxSpeakers})`);
  }
  if (numSpeakers !== null && ((minSpeakers !== null && numSpeakers < minSpeakers) || (maxSpeakers !== null && numSpeakers > maxSpeakers))) {
    throw new EarshotError('invalid_settings', `dia.num_speakers (${numSpeakers}) is outside dia.min_speakers…dia.max_speakers`);
  }
  return { numSpeakers, minSpeakers, maxSpeakers, stereoMode: dia.stereo_mode ?? false };
}
