/**
 * nice -n 10 npx ts-node --transpile-only bench/stream-identification.ts
 *
 * Enrolled speakers on live streams (dia.speakers on /v1/ws): two voices of a three-voice conversation are enrolled
 * from one clip each, the conversation is streamed (faster than real time; endpointing does not depend on the pace)
 * and each reference speaker's speech under the finals is scored by the label it got: for an enrolled voice the share
 * carrying its own name (and another enrolled name), for the unenrolled voice the share carrying any enrolled name.
 * Conversations: the DEV audiobook readers of test/e2e/speakers-stream.e2e.spec.ts, and RAVDESS three-actor
 * conversations (test/support/dev-conversations.ts enrolmentConversation: one 1.3–2 s enrolment clip per actor, every
 * actor saying the same two sentences). Progress goes to stderr; stdout gets a table and, last, one line of JSON.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StreamSegment } from '../libs/contracts/process';
import { parseWav } from '../libs/audio/wav';
import type { Turn } from '../libs/diarization/der';
import { seededRandom } from '../libs/math/seeded-random';
import { createApp } from '../src/server/app';
import { streamFinals } from './support/stream-finals';
import { loadConfig } from '../src/server/infra/config/app-config';
import { enrolmentConversation, knownVoicesConversation, ravdessActors } from '../test/support/dev-conversations';

const SR = 16000;
/** RAVDESS conversations besides the e2e one (actors 07, 12 enrolled; 19 not): this many, actors drawn by seed. */
const RAVDESS_CONVERSATIONS = 5;

interface Case {
  name: string;
  path: string;
  reference: Turn[];
  /** Reference speaker → its enrolment clip; the one speaker left out is not enrolled. */
  enrolment: Map<string, string>;
}

/** Seconds of each reference speaker's speech under the finals, by the finals' label. */
function speechByLabel(segments: StreamSegment[], reference: Turn[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of segments) {
    for (const t of reference) {
      const o = Math.min(s.end, t.end) - Math.max(s.start, t.start);
      if (o <= 0) continue;
      const byLabel = out.get(t.speaker) ?? new Map<string, number>();
      byLabel.set(s.speaker ?? '?', (byLabel.get(s.speaker ?? '?') ?? 0) + o);
      out.set(t.speaker, byLabel);
    }
  }
  return out;
}

function cases(): Case[] {
  const known = knownVoicesConversation();
  const out: Case[] = [{ name: 'audiobook readers', path: known.path, reference: known.reference, enrolment: known.enrolment }];
  const actors = [...ravdessActors().keys()];
  for (let seed = 1; seed <= RAVDESS_CONVERSATIONS + 1; seed++) {
    const random = seededRandom(seed * 7919);
    const chosen = seed === 1 ? ['07', '12', '19'] : [];
    while (chosen.length < 3) {
      const a = actors[Math.floor(random() * actors.length)];
      if (!chosen.includes(a)) chosen.push(a);
    }
    const c = enrolmentConversation(chosen, seed);
    const enrolment = new Map(chosen.slice(0, 2).map((a) => [`actor${a}`, c.enrolment.get(a)!]));
    out.push({ name: `ravdess ${chosen.join('+')} s${seed}`, path: c.path, reference: c.reference, enrolment });
  }
  return out;
}

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    MODELS_DIR: resolve(__dirname, '../../shared/models'),
    UPLOAD_DIR: join(tmpdir(), 'earshot-bench-uploads'),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'earshot-bench-stream-identification-')),
    LOG_LEVEL: 'warn',
    DEFAULT_STT_MODEL: 'whisper-tiny',
    WS_MAX_BUFFERED_S: '300',
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  while (!(await fetch(`${url}/ready`)).ok) await new Promise((r) => setTimeout(r, 200));

  const rows: Array<{ conversation: string; speaker: string; enrolled: boolean; heard_s: number; own_name_pct: number; other_name_pct: number }> = [];
  const enrolled = new Set<string>();
  for (const c of cases()) {
    for (const [speaker, clip] of c.enrolment) {
      if (enrolled.has(speaker)) continue;
      const form = new FormData();
      form.append('name', speaker);
      form.append('audio', new Blob([readFileSync(clip)]), 'clip');
      const res = await fetch(`${url}/v1/speakers`, { method: 'POST', body: form });
      if (res.status !== 201) throw new Error(`enrolling ${speaker}: ${res.status} ${await res.text()}`);
      enrolled.add(speaker);
    }
    process.stderr.write(`[bench:stream-identification] ${c.name}…\n`);
    const names = [...c.enrolment.keys()];
    const { sent: segments } = await streamFinals(
      url,
      { settings: { tasks: ['transcribe', 'diarization'], tra: { model: 'whisper-tiny', language: 'en' }, dia: { speakers: names } }, sample_rate: SR },
      parseWav(readFileSync(c.path)).samples,
      'bench:stream-identification',
    );
    for (const [speaker, byLabel] of speechByLabel(segments, c.reference)) {
      const heard = [...byLabel.values()].reduce((s, x) => s + x, 0);
      const pct = (keep: (label: string) => boolean) => round((100 * [...byLabel].filter(([l]) => keep(l)).reduce((s, [, x]) => s + x, 0)) / heard);
      rows.push({
        conversation: c.name,
        speaker,
        enrolled: c.enrolment.has(speaker),
        heard_s: round(heard),
        own_name_pct: pct((l) => l === speaker),
        other_name_pct: pct((l) => l !== speaker && names.includes(l)),
      });
    }
  }
  const header = ['conversation', 'speaker', 'enrolled', 'heard s', 'own name %', 'an enrolled name not its own %'];
  const cells = rows.map((r) => [r.conversation, r.speaker, r.enrolled ? 'yes' : 'no', String(r.heard_s), String(r.own_name_pct), String(r.other_name_pct)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  for (const line of [header, ...cells]) process.stdout.write(`${line.map((c, i) => c.padStart(widths[i])).join('  ')}\n`);
  // Speech-weighted over the RAVDESS conversations and over the audiobook one.
  const weighted = (ravdess: boolean, isEnrolled: boolean, field: 'own_name_pct' | 'other_name_pct') => {
    const chosen = rows.filter((r) => r.conversation.startsWith('ravdess') === ravdess && r.enrolled === isEnrolled);
    return round(chosen.reduce((s, r) => s + r[field] * r.heard_s, 0) / chosen.reduce((s, r) => s + r.heard_s, 0));
  };
  const summary = Object.fromEntries(
    (['audiobook', 'ravdess'] as const).map((set) => [
      set,
      {
        enrolled_own_name_pct: weighted(set === 'ravdess', true, 'own_name_pct'),
        enrolled_wrong_name_pct: weighted(set === 'ravdess', true, 'other_name_pct'),
        unenrolled_named_pct: weighted(set === 'ravdess', false, 'other_name_pct'),
      },
    ]),
  );
  process.stdout.write(`${JSON.stringify({ bench: 'stream-identification', ...summary, rows })}\n`);
  // Results first: closing the app stops the inference worker, which may end the process.
  await app.close();
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

void main();
