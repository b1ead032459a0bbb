import { DIARIZATION_MODES, type DiarizationMode, type DiarizationSettings } from '../../libs/contracts/process';
import { EarshotError } from './errors';
import type { EnrolledVoice } from '../../libs/diarization/voiceprint';

export const MAX_SPEAKERS = 20;

/** Diarization settings of one request after validation. */
export interface DiarizationOptions {
  /** `identify`: no clustering, each speech segment takes the name of the nearest voice of `identify` below. */
  mode: DiarizationMode;
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

/**
 * `settings.dia` → options; impossible counts (0, over 20, min above max), and counts in `identify` mode (which
 * counts no one), are invalid_settings (422); `identify` without `speakers` is invalid_request (400).
 */
export function diarizationOptions(dia: DiarizationSettings): DiarizationOptions {
  const mode = dia.mode ?? 'diarize';
  if (!(DIARIZATION_MODES as readonly string[]).includes(mode)) {
    throw new EarshotError('invalid_request', `unknown dia.mode "${mode}"; modes are ${DIARIZATION_MODES.join(', ')}`);
  }
  if (mode === 'identify') {
    if (dia.speakers === undefined) {
      throw new EarshotError(
        'invalid_request',
        'dia.mode "identify" needs dia.speakers: the enrolled voices (ids or names, or "all") to label the speech with',
      );
    }
    const counts = (['num_speakers', 'min_speakers', 'max_speakers'] as const).filter((name) => dia[name] != null);
    if (counts.length > 0)
      throw new EarshotError(
        'invalid_settings',
        `dia.${counts[0]} does not apply to dia.mode "identify", which labels each speech segment without counting speakers`,
      );
  }
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
  return { mode, numSpeakers, minSpeakers, maxSpeakers, stereoMode: dia.stereo_mode ?? false };
}
