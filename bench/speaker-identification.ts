/**
 * Calibrates SPEAKER_MATCH_THRESHOLD on DEV data (RAVDESS training actors): every actor enrolled from one clip, as
 * POST /v1/speakers does it; then turn-taking conversations of three actors diarized, and each diarized speaker
 * (labelled with the actor who says most of its speech) scored against every voiceprint. At each threshold:
 * false accepts per voiceprint (another actor's voiceprint reaches it: how often an unenrolled voice takes a given
 * enrolled name), false accepts against any of 15 (the best of the other actors' voiceprints reaches it), and true
 * accepts (the speaker's own voiceprint reaches it and
 * beats every other). Prints a table and one JSON line.
 *
 *   nice -n 10 npx ts-node --transpile-only bench/speaker-identification.ts [--conversations 20]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWav } from '../libs/audio/wav';
import { cosine } from '../src/core/diarization/voiceprint';
import { DiarizationRegistry, loadDiarizer } from '../src/infra/models/diarization-models';
import { enrolmentConversation, RAVDESS_TRAIN, ravdessActors } from '../test/support/dev-conversations';
import { seededRandom } from '../libs/math/seeded-random';

const FREE = { numSpeakers: null, minSpeakers: null, maxSpeakers: null };

function decode(path: string): Float32Array {
  const out = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`ffmpeg failed on ${path}`);
  return new Float32Array(out.stdout.buffer.slice(out.stdout.byteOffset, out.stdout.byteOffset + out.stdout.byteLength));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { conversations: { type: 'string', default: '20' } } });
  const diarizer = await loadDiarizer(new DiarizationRegistry(join(__dirname, 'no-models-dir')), { device: 'cpu', intraOpThreads: 2 });
  const actors = [...ravdessActors().keys()];

  const prints = new Map<string, Float32Array>();
  const enrolSpeech: number[] = [];
  for (const actor of actors) {
    const { voices } = await diarizer.diarizeWithVoices(decode(join(RAVDESS_TRAIN, `03-01-01-01-01-01-${actor}.flac`)), FREE);
    enrolSpeech.push(voices.reduce((s, v) => s + v.speechS, 0));
    if (voices.length !== 1) console.warn(`actor ${actor}: ${voices.length} voices in the enrolment clip`);
    if (voices.length > 0) prints.set(actor, voices.sort((a, b) => b.speechS - a.speechS)[0].embedding);
  }

  const genuine: number[] = [];
  const impostorMax: number[] = [];
  const impostor: number[] = [];
  const beatsOthers: boolean[] = [];
  const random = seededRandom(7);
  const n = Number(values.conversations);
  for (let c = 0; c < n; c++) {
    const chosen: string[] = [];
    while (chosen.length < 3) {
      const a = actors[Math.floor(random() * actors.length)];
      if (!chosen.includes(a)) chosen.push(a);
    }
    const conv = enrolmentConversation(chosen, 100 + c);
    const { result, voices } = await diarizer.diarizeWithVoices(parseWav(readFileSync(conv.path)).samples, FREE);
    for (const voice of voices) {
      // The actor who says most of this speaker's speech.
      const overlap = new Map<string, number>();
      for (const h of result.turns.filter((t) => t.speaker === voice.speaker)) {
        for (const r of conv.reference) {
          const o = Math.min(h.end, r.end) - Math.max(h.start, r.start);
          if (o > 0) overlap.set(r.speaker, (overlap.get(r.speaker) ?? 0) + o);
        }
      }
      const actor = [...overlap].sort((a, b) => b[1] - a[1])[0]?.[0]?.slice(5);
      if (!actor || !prints.has(actor)) continue;
      const own = cosine(voice.embedding, prints.get(actor)!);
      const others = [...prints].filter(([a]) => a !== actor).map(([, p]) => cosine(voice.embedding, p));
      genuine.push(own);
      impostorMax.push(Math.max(...others));
      impostor.push(...others);
      beatsOthers.push(own > Math.max(...others));
    }
  }

  const rows = [];
  for (let t = 0.5; t <= 0.701; t += 0.01) {
    const fa = impostor.filter((s) => s >= t).length / impostor.length;
    const faAny = impostorMax.filter((s) => s >= t).length / impostorMax.length;
    const ta = genuine.filter((s, i) => s >= t && beatsOthers[i]).length / genuine.length;
    rows.push({ threshold: Math.round(t * 1000) / 1000, false_accept: fa, false_accept_of_15: faAny, true_accept: ta });
  }
  console.log(`enrolment speech: ${Math.min(...enrolSpeech).toFixed(2)}–${Math.max(...enrolSpeech).toFixed(2)} s; diarized speakers scored: ${genuine.length}`);
  console.log('threshold  false accept (per voiceprint)  false accept (any of 15)  true accept');
  const pct = (x: number, w: number) => `${(x * 100).toFixed(1).padStart(w)}%`;
  for (const r of rows) console.log(`${r.threshold.toFixed(3).padStart(9)}  ${pct(r.false_accept, 29)}  ${pct(r.false_accept_of_15, 23)}  ${pct(r.true_accept, 10)}`);
  const chosen = rows.find((r) => r.false_accept <= 0.02);
  console.log(JSON.stringify({ bench: 'speaker-identification', speakers: genuine.length, lowest_threshold_at_2pct_fa: chosen ?? null, rows }));
}

void main();
