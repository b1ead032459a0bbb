/** An enrolled speaker as the stores keep it. Times are epoch milliseconds. */
export interface StoredSpeaker {
  id: string;
  /** The API key (principal id) that enrolled it; only that key sees it. */
  tenant: string;
  name: string;
  /** Unit-length mean embedding of its enrolment speech: the voiceprint. */
  embedding: Float32Array;
  /** Seconds of speech the voiceprint rests on. */
  speechS: number;
  /** Audio files enrolled so far. */
  clips: number;
  /** The speaker-embedding model that made the voiceprint (voiceprints of different models are not comparable). */
  embedder: string;
  metadata: Record<string, unknown> | null;
  /** Enrolment audio kept on request (keep_audio), as stored paths. */
  audioPaths: string[];
  createdAt: number;
  updatedAt: number;
}

/** Where voiceprints are kept: beside the jobs (SQLite, or Redis with REDIS_URL). */
export interface SpeakerStore {
  /** Throws speaker_conflict when the tenant already has a speaker of that name. */
  add(speaker: StoredSpeaker): Promise<void>;
  update(speaker: StoredSpeaker): Promise<void>;
  get(tenant: string, id: string): Promise<StoredSpeaker | undefined>;
  /** Whoever's they are: for background jobs, whose selection was checked against the tenant when submitted. */
  getMany(ids: readonly string[]): Promise<StoredSpeaker[]>;
  /** Oldest first. */
  list(tenant: string): Promise<StoredSpeaker[]>;
  /** False when there was none. */
  remove(tenant: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Kept enrolment audio (keep_audio), under DATA_DIR. */
export interface SpeakerAudioStore {
  /** Moves uploaded temporary files into the speaker's folder; returns their stored paths. */
  keep(speakerId: string, tempPaths: readonly string[]): Promise<string[]>;
  /** Removes all the speaker's kept audio. */
  removeAll(speakerId: string): Promise<void>;
}
