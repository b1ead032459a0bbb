/**
 * npm run bench:stream-speakers
 *
 * Speaker labels on live streams: each DEV turn-taking conversation (test/support/dev-conversations.ts: 2–4
 * RAVDESS actors, 0.3–0.9 s between turns) and each DEV meeting (testdata diarization/: real recordings, where
 * speakers answer without a pause and overlap) is streamed over /v1/ws with the diarization task, once with the
 * speaker count free and once told it. Scored per conversation: the share of the reference speech whose final carries the
 * label mapped to its speaker (one-to-one mapping of labels to speakers that maximises it), with the labels as the
 * finals were sent and as the stream's relabel frames left them, the relabel frames, the labels used, and the finals
 * that span two speakers (their turns were closer than the end-of-utterance pause). Audio is sent faster
 * than real time: endpointing does not depend on the pace. Progress goes to stderr; stdout gets a table and, last,
 * one line of JSON.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StreamSegment } from '../libs/contracts/process';
import { parseWav } from '../libs/audio/wav';
import type { Turn } from '../libs/diarization/der';
import { createApp } from '../src/server/app';
import { type DevFile, devFiles } from './support/diarization-files';
import { streamFinals } from './support/stream-finals';
import { loadConfig } from '../src/server/infra/config/app-config';

const SR = 16000;

/** Seconds of each (label, reference speaker) pair: a final's span against the reference turns. */
function overlaps(segments: StreamSegment[], reference: Turn[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of segments) {
    const byVoice = out.get(s.speaker ?? '?') ?? new Map<string, number>();
    for (const t of reference) {
      const o = Math.min(s.end, t.end) - Math.max(s.start, t.start);
      if (o > 0) byVoice.set(t.speaker, (byVoice.get(t.speaker) ?? 0) + o);
    }
    out.set(s.speaker ?? '?', byVoice);
  }
  return out;
}

/** The best one-to-one mapping of labels to speakers: seconds it gets right. */
function bestMapping(pairs: Map<string, Map<string, number>>, voices: string[]): number {
  const labels = [...pairs.keys()];
  const search = (i: number, used: Set<string>): number => {
    if (i === labels.length) return 0;
    let best = search(i + 1, used);
    for (const v of voices) {
      if (used.has(v)) continue;
      used.add(v);
      best = Math.max(best, (pairs.get(labels[i])!.get(v) ?? 0) + search(i + 1, used));
      used.delete(v);
    }
    return best;
  };
  return search(0, new Set());
}

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    MODELS_DIR: resolve(__dirname, '../../shared/models'),
    UPLOAD_DIR: join(tmpdir(), 'earshot-bench-uploads'),
    LOG_LEVEL: 'warn',
    DEFAULT_STT_MODEL: 'whisper-tiny',
    WS_MAX_BUFFERED_S: '300',
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  while (!(await fetch(`${url}/ready`)).ok) await new Promise((r) => setTimeout(r, 200));

  const rows: Array<{
    set: DevFile['set'];
    name: string;
    speakers: number;
    count: 'free' | 'told';
    labels: number;
    right_pct: number;
    relabelled_right_pct: number;
    relabels: number;
    finals: number;
    two_voice_finals: number;
  }> = [];
  for (const c of devFiles()) {
    const samples = parseWav(readFileSync(c.path)).samples;
    const voices = [...new Set(c.reference.map((t) => t.speaker))];
    const speech = c.reference.reduce((s, t) => s + t.end - t.start, 0);
    const rightPct = (segments: StreamSegment[]) => round((100 * bestMapping(overlaps(segments, c.reference), voices)) / speech);
    for (const count of ['free', 'told'] as const) {
      process.stderr.write(`[bench:stream-speakers] ${c.name} (${count})…\n`);
      const dia = count === 'told' ? { num_speakers: c.speakers } : {};
      const { sent, relabelled, relabels } = await streamFinals(
        url,
        { settings: { tasks: ['transcribe', 'diarization'], tra: { model: 'whisper-tiny', language: 'en' }, dia }, sample_rate: SR },
        samples,
        'bench:stream-speakers',
      );
      const twoVoice = sent.filter((s) => c.reference.filter((t) => Math.min(s.end, t.end) - Math.max(s.start, t.start) > 0.2).length > 1).length;
      rows.push({
        set: c.set,
        name: c.name,
        speakers: c.speakers,
        count,
        labels: overlaps(sent, c.reference).size,
        right_pct: rightPct(sent),
        relabelled_right_pct: rightPct(relabelled),
        relabels,
        finals: sent.length,
        two_voice_finals: twoVoice,
      });
    }
  }
  const header = ['file', 'speakers', 'count', 'labels', 'speech right % (as sent)', 'after relabels', 'relabels', 'finals', 'two-voice finals'];
  const cells = rows.map((r) => [
    r.name,
    String(r.speakers),
    r.count,
    String(r.labels),
    String(r.right_pct),
    String(r.relabelled_right_pct),
    String(r.relabels),
    String(r.finals),
    String(r.two_voice_finals),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  for (const line of [header, ...cells]) process.stdout.write(`${line.map((c, i) => c.padStart(widths[i])).join('  ')}\n`);
  type Score = 'right_pct' | 'relabelled_right_pct';
  const mean = (set: DevFile['set'], count: string, key: Score) => {
    const of = rows.filter((r) => r.set === set && r.count === count);
    return round(of.reduce((sum, r) => sum + r[key], 0) / of.length);
  };
  const means = (key: Score) =>
    Object.fromEntries((['conversations', 'meetings'] as const).map((set) => [set, { free: mean(set, 'free', key), told: mean(set, 'told', key) }]));
  process.stdout.write(
    `${JSON.stringify({ bench: 'stream-speakers', mean_right_pct: means('right_pct'), mean_relabelled_right_pct: means('relabelled_right_pct'), rows })}\n`,
  );
  // Results first: closing the app stops the inference worker, which may end the process.
  await app.close();
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

void main();
