import { randomUUID } from 'node:crypto';
import type { EnrolledSpeaker, SpeakerList } from '../../../../libs/contracts/process';
import type { SpeakerIdentification } from '../../../contract/diarization-settings';
import { cosine, unit } from '../../../../libs/diarization/voiceprint';
import { EarshotError } from '../../../contract/errors';
import type { VoiceAnalysis } from '../../../contract/engine-types';
import type { SpeakerAudioStore, SpeakerStore, StoredSpeaker } from './speaker-store';

/** Runs the diarizer over enrolment audio (the inference worker). */
export interface VoiceAnalyzer {
  /** `options.signal` stops the analysis (the request went away). */
  voices(audioPaths: string[], options: { signal?: AbortSignal }): Promise<VoiceAnalysis>;
}

export interface SpeakerSettings {
  /** Lowest cosine between a diarized speaker's voice and a voiceprint that names it (SPEAKER_MATCH_THRESHOLD). */
  matchThreshold: number;
  /** Least speech an enrolment must hold (SPEAKER_MIN_ENROL_S). */
  minSpeechS: number;
}

/** A dia.speakers selection: ids or names of enrolled speakers, or all of them. */
export type SpeakerSelection = string[] | 'all';

export interface EnrolmentInput {
  name: string;
  audioPaths: string[];
  metadata: Record<string, unknown> | null;
  keepAudio: boolean;
  /** The enrolment request's: stops the analysis when it goes away. */
  signal?: AbortSignal;
}

const MAX_NAME_LENGTH = 100;

/** Names that would read as an unidentified speaker or as the "all" selection. */
const RESERVED_NAME = /^(speaker_\d+|unknown|all)$/i;

export function toWireSpeaker(s: StoredSpeaker): EnrolledSpeaker {
  return {
    speaker_id: s.id,
    name: s.name,
    speech_s: Math.round(s.speechS * 100) / 100,
    clips: s.clips,
    embedder: s.embedder,
    metadata: s.metadata,
    kept_audio_files: s.audioPaths.length,
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
  };
}

/** A dia.speakers value of the right shape, or invalid_settings (422). */
export function checkSpeakerSelection(value: unknown): SpeakerSelection {
  if (value === 'all') return value;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    throw new EarshotError('invalid_settings', 'dia.speakers must be "all" or a non-empty list of enrolled speaker ids or names');
  }
  return value as string[];
}

/**
 * Known speakers without HTTP: enrolment (one voice per speaker, checked by diarizing the enrolment audio), the
 * tenant's list, deletion, and the voiceprints a request identifies speakers against.
 */
export class SpeakerService {
  constructor(
    private readonly store: SpeakerStore,
    private readonly analyzer: VoiceAnalyzer,
    private readonly audio: SpeakerAudioStore,
    private readonly settings: SpeakerSettings,
  ) {}

  get matchThreshold(): number {
    return this.settings.matchThreshold;
  }

  async enrol(tenant: string, input: EnrolmentInput): Promise<EnrolledSpeaker> {
    const name = checkName(input.name);
    if ((await this.store.list(tenant)).some((s) => s.name === name)) {
      throw new EarshotError('speaker_conflict', `a speaker named "${name}" is already enrolled (DELETE it or add audio to it)`);
    }
    const analysis = await this.analyzer.voices(input.audioPaths, { signal: input.signal });
    const voice = this.oneVoice(analysis);
    const now = Date.now();
    const speaker: StoredSpeaker = {
      id: randomUUID(),
      tenant,
      name,
      embedding: voice.embedding,
      speechS: voice.speechS,
      clips: input.audioPaths.length,
      embedder: analysis.embedder,
      metadata: input.metadata,
      audioPaths: [],
      createdAt: now,
      updatedAt: now,
    };
    if (input.keepAudio) speaker.audioPaths = await this.audio.keep(speaker.id, input.audioPaths);
    try {
      await this.store.add(speaker);
    } catch (err) {
      await this.audio.removeAll(speaker.id);
      throw err;
    }
    return toWireSpeaker(speaker);
  }

  /** More speech for a voiceprint: it must be the same voice (above the match threshold); the mean is by seconds. */
  async addAudio(tenant: string, id: string, audioPaths: string[], keepAudio: boolean, signal?: AbortSignal): Promise<EnrolledSpeaker> {
    const speaker = await this.stored(tenant, id);
    const analysis = await this.analyzer.voices(audioPaths, { signal });
    const voice = this.oneVoice(analysis);
    if (analysis.embedder !== speaker.embedder) {
      throw new EarshotError(
        'enrolment_rejected',
        `the voiceprint was made with ${speaker.embedder} and the service now uses ${analysis.embedder}; enrol the speaker again`,
      );
    }
    const score = cosine(voice.embedding, speaker.embedding);
    if (score < this.settings.matchThreshold) {
      throw new EarshotError(
        'enrolment_rejected',
        `this audio does not sound like ${speaker.name} (match ${score.toFixed(2)}, below ${this.settings.matchThreshold})`,
      );
    }
    const total = speaker.speechS + voice.speechS;
    const mean = new Float32Array(speaker.embedding.length);
    for (let d = 0; d < mean.length; d++) mean[d] = speaker.embedding[d] * speaker.speechS + voice.embedding[d] * voice.speechS;
    const kept = keepAudio ? await this.audio.keep(speaker.id, audioPaths) : [];
    const updated: StoredSpeaker = {
      ...speaker,
      embedding: unit(mean),
      speechS: total,
      clips: speaker.clips + audioPaths.length,
      audioPaths: [...speaker.audioPaths, ...kept],
      updatedAt: Date.now(),
    };
    await this.store.update(updated);
    return toWireSpeaker(updated);
  }

  async list(tenant: string): Promise<SpeakerList> {
    return { speakers: (await this.store.list(tenant)).map(toWireSpeaker) };
  }

  async get(tenant: string, id: string): Promise<EnrolledSpeaker> {
    return toWireSpeaker(await this.stored(tenant, id));
  }

  /** Removes the voiceprint and any kept audio. */
  async delete(tenant: string, id: string): Promise<{ speaker_id: string; deleted: true }> {
    if (!(await this.store.remove(tenant, id))) throw notFound(id);
    await this.audio.removeAll(id);
    return { speaker_id: id, deleted: true };
  }

  /** The selection as the tenant's speaker ids: what a background job keeps, to run later without the caller. */
  async pin(tenant: string, selection: SpeakerSelection): Promise<string[]> {
    return (await this.select(tenant, selection)).map((s) => s.id);
  }

  /**
   * The voiceprints a request identifies against. With a tenant, ids or names of its speakers (an unknown one is
   * speaker_not_found); without (a background job), the ids pinned when it was submitted, less any deleted since.
   */
  async identification(tenant: string | undefined, selection: SpeakerSelection): Promise<SpeakerIdentification> {
    const speakers = tenant === undefined ? await this.store.getMany(selection === 'all' ? [] : selection) : await this.select(tenant, selection);
    return {
      voices: speakers.map((s) => ({ id: s.id, name: s.name, embedding: Array.from(s.embedding) })),
      threshold: this.settings.matchThreshold,
    };
  }

  private async select(tenant: string, selection: SpeakerSelection): Promise<StoredSpeaker[]> {
    const all = await this.store.list(tenant);
    if (selection === 'all') return all;
    return [...new Set(selection)].map((key) => {
      const found = all.find((s) => s.id === key) ?? all.find((s) => s.name === key);
      if (!found) throw new EarshotError('speaker_not_found', `dia.speakers: no enrolled speaker "${key}" (GET /v1/speakers lists them)`);
      return found;
    });
  }

  /** The one voice of enrolment audio, or enrolment_rejected saying why not. */
  private oneVoice(analysis: VoiceAnalysis): { embedding: Float32Array; speechS: number } {
    const speech = analysis.voices.reduce((s, v) => s + v.speech_s, 0);
    if (analysis.voices.length === 0) {
      throw new EarshotError('enrolment_rejected', `no speech found in the ${analysis.duration_s.toFixed(1)} s of enrolment audio`);
    }
    if (analysis.voices.length > 1) {
      const parts = analysis.voices.map((v) => `${v.speech_s.toFixed(1)} s`).join(' + ');
      throw new EarshotError('enrolment_rejected', `the enrolment audio holds ${analysis.voices.length} voices (${parts}); enrol one speaker at a time`);
    }
    if (speech < this.settings.minSpeechS) {
      throw new EarshotError(
        'enrolment_rejected',
        `the enrolment audio holds ${speech.toFixed(1)} s of speech; at least ${this.settings.minSpeechS} s are needed`,
      );
    }
    return { embedding: Float32Array.from(analysis.voices[0].embedding), speechS: speech };
  }

  private async stored(tenant: string, id: string): Promise<StoredSpeaker> {
    const speaker = await this.store.get(tenant, id);
    if (!speaker) throw notFound(id);
    return speaker;
  }
}

function notFound(id: string): EarshotError {
  return new EarshotError('speaker_not_found', `no enrolled speaker ${id}`);
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (!name) throw new EarshotError('invalid_request', 'missing the "name" field');
  if (name.length > MAX_NAME_LENGTH) throw new EarshotError('invalid_request', `"name" is longer than ${MAX_NAME_LENGTH} characters`);
  if (RESERVED_NAME.test(name)) throw new EarshotError('invalid_request', `"${name}" is reserved (it reads as an unidentified speaker or a selection)`);
  return name;
}
