import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StreamSegment, StreamServerMessage } from '../../libs/contracts/process';
import { parseWav } from '../../libs/audio/wav';
import type { Turn } from '../../libs/diarization/der';
import { EMOTION_LABELS } from '../../src/engine/core/emotion/labels';
import { devConversations } from '../support/dev-conversations';
import { startServer, TESTDATA, type TestServer } from '../support/server';
import { streamAudio, toPcm16 } from '../support/stream-client';

type Final = Extract<StreamServerMessage, { type: 'final' }>;

const TRA = { model: 'whisper-tiny', language: 'en' };

/** A throwaway venv with the seed service's published client (SEED_CLIENT_PYTHON names one already made). */
function seedClientPython(): string {
  if (process.env.SEED_CLIENT_PYTHON) return process.env.SEED_CLIENT_PYTHON;
  const venv = join(tmpdir(), 'earshot-seed-client-venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    const made = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`python3 -m venv failed: ${made.stderr}`);
  }
  // Its [client] extra names a package the index does not have; these are what the client imports.
  const pip = spawnSync(python, ['-m', 'pip', 'install', '-q', 'sensory-transcription==0.1.0.7', 'tqdm', 'websockets'], { encoding: 'utf8' });
  if (pip.status !== 0) throw new Error(`pip install failed: ${pip.stderr}`);
  return python;
}

function finals(messages: StreamServerMessage[]): Final[] {
  return messages.filter((m): m is Final => m.type === 'final');
}

/** Each segment's emotion: its own, or the follow-up frame's for its id. */
function emotionsOf(messages: StreamServerMessage[]): Map<number, StreamSegment['emotion']> {
  const out = new Map<number, StreamSegment['emotion']>();
  for (const m of messages) {
    if (m.type === 'final' && m.segment.emotion) out.set(m.segment.id, m.segment.emotion);
    if (m.type === 'emotion') out.set(m.segment_id, m.emotion);
  }
  return out;
}

/** Seconds of `segment` that each reference speaker speaks. */
function overlapBySpeaker(segment: { start: number; end: number }, reference: Turn[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of reference) {
    const o = Math.min(segment.end, t.end) - Math.max(segment.start, t.start);
    if (o > 0) out.set(t.speaker, (out.get(t.speaker) ?? 0) + o);
  }
  return out;
}

/**
 * Each label stands for the reference speaker with most of its finals' speech; the share of all the finals' speech
 * that goes to the speaker its label stands for, and how many speakers the labels stand for.
 */
function labelsRight(segments: StreamSegment[], reference: Turn[]): { right: number; voices: number } {
  const votes = new Map<string, Map<string, number>>();
  for (const s of segments) {
    const byLabel = votes.get(s.speaker!) ?? new Map<string, number>();
    for (const [voice, seconds] of overlapBySpeaker(s, reference)) byLabel.set(voice, (byLabel.get(voice) ?? 0) + seconds);
    votes.set(s.speaker!, byLabel);
  }
  const voiceOf = new Map([...votes].map(([label, v]) => [label, [...v].sort((a, b) => b[1] - a[1])[0][0]]));
  let right = 0;
  let total = 0;
  for (const s of segments) {
    for (const [voice, seconds] of overlapBySpeaker(s, reference)) {
      total += seconds;
      if (voiceOf.get(s.speaker!) === voice) right += seconds;
    }
  }
  return { right: right / total, voices: new Set(voiceOf.values()).size };
}

describe('/v1/ws speakers, emotion and the seed contract (real models, real audio)', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Audio is sent faster than real time, so whole clips may wait unprocessed.
    server = await startServer({ WS_MAX_STREAMS: '3', WS_MAX_BUFFERED_S: '120', WS_MAX_FRAME_BYTES: '65536' });
  });
  afterAll(() => server.close());

  it('labels each final of a two-speaker DEV conversation with its voice, stable across the stream', async () => {
    const conversation = devConversations().find((c) => c.name === 'conv2spk_s11')!;
    const samples = parseWav(readFileSync(conversation.path)).samples;
    const run = await streamAudio(server.url, { settings: { tasks: ['transcribe', 'diarization'], tra: TRA }, sample_rate: 16000 }, toPcm16(samples), 16000);
    expect(run.closeCode).toBe(1000);
    const segments = finals(run.messages).map((m) => m.segment);
    expect(segments.length).toBeGreaterThanOrEqual(conversation.reference.length / 2);
    for (const s of segments) expect(s.speaker).toMatch(/^SPEAKER_\d\d$/);
    // Labels in order of first appearance.
    const order = [...new Set(segments.map((s) => s.speaker))];
    expect(order).toEqual(order.map((_, i) => `SPEAKER_${String(i).padStart(2, '0')}`));
    expect(order).toHaveLength(2);
    // Each label is one voice: the speech of every final goes to the reference speaker its label stands for.
    const { right, voices } = labelsRight(segments, conversation.reference);
    expect(voices).toBe(2);
    process.stdout.write(`speaker labels right for ${(100 * right).toFixed(1)} % of the speech over ${segments.length} finals\n`);
    expect(right).toBeGreaterThanOrEqual(0.9);
  });

  it('relabels earlier segments of a four-speaker DEV conversation explicitly, for better labels at the end', async () => {
    // By bench:stream-speakers, the rule that labels each final gets 80% of this conversation's speech right when
    // told the count, the relabels 91%.
    const conversation = devConversations().find((c) => c.name === 'conv4spk_s31')!;
    const samples = parseWav(readFileSync(conversation.path)).samples;
    const settings = { tasks: ['transcribe', 'diarization'], tra: TRA, dia: { num_speakers: 4 } };
    const run = await streamAudio(server.url, { settings, sample_rate: 16000 }, toPcm16(samples), 16000);
    expect(run.closeCode).toBe(1000);
    const sent = finals(run.messages).map((m) => m.segment);
    const speakerOf = new Map(sent.map((s) => [s.id, s.speaker]));
    const relabels = run.messages.filter((m): m is Extract<StreamServerMessage, { type: 'relabel' }> => m.type === 'relabel');
    expect(relabels.length).toBeGreaterThan(0);
    for (const r of relabels) {
      // Of a segment already sent, to a SPEAKER_xx label; the segment holds it from then on.
      const at = run.messages.indexOf(r);
      expect(run.messages.slice(0, at).some((m) => m.type === 'final' && m.segment.id === r.segment_id)).toBe(true);
      expect(r.speaker).toMatch(/^SPEAKER_\d\d$/);
      speakerOf.set(r.segment_id, r.speaker);
    }
    const relabelled = sent.map((s) => ({ ...s, speaker: speakerOf.get(s.id) }));
    const before = labelsRight(sent, conversation.reference);
    const after = labelsRight(relabelled, conversation.reference);
    process.stdout.write(`speaker labels right: ${(100 * before.right).toFixed(1)} % as sent, ${(100 * after.right).toFixed(1)} % relabelled\n`);
    expect(after.right).toBeGreaterThan(before.right);
    expect(after.right).toBeGreaterThanOrEqual(0.85);
    expect(after.voices).toBe(4);
  });

  it('gives every final of an emotional clip its emotion (on the final, or in a follow-up frame for its id)', async () => {
    const path = 'emotion/ravdess/03-01-05-02-01-01-01.wav';
    const samples = parseWav(readFileSync(join(TESTDATA, path))).samples;
    const run = await streamAudio(server.url, { settings: { tasks: ['transcribe', 'emotion'], tra: TRA }, sample_rate: 16000 }, toPcm16(samples), 16000);
    expect(run.closeCode).toBe(1000);
    const segments = finals(run.messages).map((m) => m.segment);
    expect(segments.length).toBeGreaterThan(0);
    const emotions = emotionsOf(run.messages);
    for (const s of segments) {
      const emotion = emotions.get(s.id)!;
      expect(EMOTION_LABELS).toContain(emotion.label);
      expect(Object.keys(emotion.scores).sort()).toEqual([...EMOTION_LABELS].sort());
      const sum = Object.values(emotion.scores).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 2);
    }
    for (const m of finals(run.messages)) if (m.segment.emotion) expect(m.emotional).toEqual(m.segment.emotion.scores);
  });

  it('serves the seed client: its ProcessRequest (no sample rate), its chunker, b"" to end, every frame its StreamingChunkResponse', async () => {
    const python = seedClientPython();
    const script = resolve(__dirname, '../support/seed_stream_client.py');
    const wav = join(TESTDATA, 'stt/en/librispeech_1089-134686-0001.wav');
    // Asynchronously: the server runs in this process.
    const run = async (settings: object) => {
      const out = await promisify(execFile)(python, [script, server.url.replace(/^http/, 'ws'), wav, JSON.stringify(settings)], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const lines = out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      return {
        chunks: lines
          .filter((l) => l.chunk)
          .map(
            (l) =>
              l.chunk as {
                start: number;
                end: number;
                text: string;
                words: Array<{ word: string; start: number; end: number }>;
                emotional: Record<string, number> | null;
              },
          ),
        summary: lines.find((l) => l.summary).summary as { parsed: number; ignored: number; close_code: number },
      };
    };
    const plain = await run({ tasks: ['transcribe'], tra: { model: 'whisper-tiny', language: 'en' } });
    expect(plain.summary.close_code).toBe(1000);
    // ready and done are not chunks; no error frame came.
    expect(plain.summary.ignored).toBe(2);
    const withWords = plain.chunks.filter((c) => c.words.length > 0);
    expect(withWords.length).toBeGreaterThan(0);
    const text = withWords
      .map((c) => c.text)
      .join(' ')
      .toLowerCase();
    expect(text).toMatch(/yellow lamps/);
    for (const c of withWords) {
      expect(c.end).toBeGreaterThan(c.start);
      expect(c.words[0].start).toBeGreaterThanOrEqual(c.start - 0.05);
    }

    const emotional = await run({ tasks: ['transcribe', 'emotion'], tra: { model: 'whisper-tiny', language: 'en' } });
    expect(emotional.summary.close_code).toBe(1000);
    const scored = emotional.chunks.filter((c) => c.emotional);
    expect(scored.length).toBeGreaterThan(0);
    for (const c of scored) expect(Object.keys(c.emotional!).sort()).toEqual([...EMOTION_LABELS].sort());
  });
});
