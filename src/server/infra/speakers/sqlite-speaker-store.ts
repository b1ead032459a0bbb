import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EarshotError } from '../../../contract/errors';
import type { SpeakerStore, StoredSpeaker } from '../../core/speakers/speaker-store';

interface SpeakerRow {
  id: string;
  tenant: string;
  name: string;
  embedding: Buffer;
  speech_s: number;
  clips: number;
  embedder: string;
  metadata: string | null;
  audio_paths: string;
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS speakers (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  embedding BLOB NOT NULL,
  speech_s REAL NOT NULL,
  clips INTEGER NOT NULL,
  embedder TEXT NOT NULL,
  metadata TEXT,
  audio_paths TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (tenant, name)
);
`;

function toSpeaker(row: SpeakerRow): StoredSpeaker {
  const bytes = Uint8Array.from(row.embedding);
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    embedding: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4),
    speechS: row.speech_s,
    clips: row.clips,
    embedder: row.embedder,
    metadata: row.metadata ? (JSON.parse(row.metadata) as StoredSpeaker['metadata']) : null,
    audioPaths: JSON.parse(row.audio_paths) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(s: StoredSpeaker): SpeakerRow {
  return {
    id: s.id,
    tenant: s.tenant,
    name: s.name,
    embedding: Buffer.from(s.embedding.buffer, s.embedding.byteOffset, s.embedding.byteLength),
    speech_s: s.speechS,
    clips: s.clips,
    embedder: s.embedder,
    metadata: s.metadata ? JSON.stringify(s.metadata) : null,
    audio_paths: JSON.stringify(s.audioPaths),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** Voiceprints in a SQLite file (WAL) beside the jobs' (`<DATA_DIR>/speakers.sqlite`). */
export class SqliteSpeakerStore implements SpeakerStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  async add(speaker: StoredSpeaker): Promise<void> {
    try {
      this.db
        .prepare(
          `INSERT INTO speakers (id, tenant, name, embedding, speech_s, clips, embedder, metadata, audio_paths, created_at, updated_at)
           VALUES (@id, @tenant, @name, @embedding, @speech_s, @clips, @embedder, @metadata, @audio_paths, @created_at, @updated_at)`,
        )
        .run(toRow(speaker));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new EarshotError('speaker_conflict', `a speaker named "${speaker.name}" is already enrolled`);
      }
      throw err;
    }
  }

  async update(speaker: StoredSpeaker): Promise<void> {
    this.db
      .prepare(
        `UPDATE speakers SET embedding = @embedding, speech_s = @speech_s, clips = @clips, metadata = @metadata,
         audio_paths = @audio_paths, updated_at = @updated_at WHERE id = @id AND tenant = @tenant`,
      )
      .run(toRow(speaker));
  }

  async get(tenant: string, id: string): Promise<StoredSpeaker | undefined> {
    const row = this.db.prepare('SELECT * FROM speakers WHERE tenant = ? AND id = ?').get(tenant, id) as SpeakerRow | undefined;
    return row && toSpeaker(row);
  }

  async getMany(ids: readonly string[]): Promise<StoredSpeaker[]> {
    const get = this.db.prepare('SELECT * FROM speakers WHERE id = ?');
    return ids.flatMap((id) => {
      const row = get.get(id) as SpeakerRow | undefined;
      return row ? [toSpeaker(row)] : [];
    });
  }

  async list(tenant: string): Promise<StoredSpeaker[]> {
    return (this.db.prepare('SELECT * FROM speakers WHERE tenant = ? ORDER BY created_at, id').all(tenant) as SpeakerRow[]).map(toSpeaker);
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM speakers WHERE tenant = ? AND id = ?').run(tenant, id).changes > 0;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
