/**
 * Calibrates SPEAKER_MATCH_THRESHOLD on DEV data (RAVDESS training actors): every actor enrolled from one clip, as
 * POST /v1/speakers does it; then turn-taking conversations of three actors diarized, and each diarized speaker
 * (labelled with the actor who says most of its speech) scored against every voiceprint. At each threshold:
 * false accepts per voiceprint (another actor's voiceprint reaches it: how often an unenrolled voice takes a given
 * enrolled name), false accepts against any of 15 (the best of the other actors' voiceprints reaches it), and true
 * accepts (the speaker's own voiceprint reaches it and
 * beats every other). Then the same for dia.mode "identify", which scores each VAD speech segment on its own: the
 * segments (labelled with the actor who says most of each) against every voiceprint, and the e2e shape with the first
 * two actors enrolled. Prints two tables and one JSON line.
 *
 *   nice -n 10 npx ts-node --transpile-only bench/speaker-identification.ts [--conversations 30]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWav } from '../libs/audio/wav';
import type { Turn } from '../libs/diarization/der';
import type { DiarizationResult } from '../libs/contracts/process';
import type { SpeakerVoice } from '../src/engine/core/diarization/diarizer';
import { cosine, DEFAULT_MATCH_THRESHOLD, type EnrolledVoice, identifiedResult, matchVoices, nameSpeakers, nearestVoice } from '../libs/diarization/voiceprint';
import { speechSegmentVoices, TURN_GAP_S } from '../src/engine/core/diarization/identify';
import { SileroVad } from '../src/engine/models/silero-vad';
import { loadDiarizer } from '../src/engine/models/diarization-models';
import { ModelRegistry } from '../src/engine/models/model-registry';
import { enrolmentConversation, RAVDESS_TRAIN, ravdessActors } from '../test/support/dev-conversations';
import { seededRandom } from '../libs/math/seeded-random';

const FREE = { numSpeakers: null, minSpeakers: null, maxSpeakers: null };

function decode(path: string): Float32Array {
  const out = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`ffmpeg failed on ${path}`);
  return new Float32Array(out.stdout.buffer.slice(out.stdout.byteOffset, out.stdout.byteOffset + out.stdout.byteLength));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { conversations: { type: 'string', default: '30' } } });
  const builtin = new ModelRegistry();
  const diarizer = await loadDiarizer({
    segmentation: builtin.chosen('speaker-segmentation'),
    embedding: builtin.chosen('speaker-embedding'),
    runtime: { device: 'cpu', intraOpThreads: 2 },
  });
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
  const runs: Array<{
    reference: Turn[];
    chosen: string[];
    result: DiarizationResult;
    voices: SpeakerVoice[];
    segments: Array<{ start: number; end: number; embedding: Float32Array }>;
  }> = [];
  const vad = await SileroVad.load({ modelPath: builtin.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 2 } });
  const print = (a: string): EnrolledVoice => ({ id: a, name: `actor${a}`, embedding: Array.from(prints.get(a)!) });
  const segmentGenuine: number[] = [];
  const segmentImpostor: number[] = [];
  const random = seededRandom(7);
  const n = Number(values.conversations);
  for (let c = 0; c < n; c++) {
    const chosen: string[] = [];
    while (chosen.length < 3) {
      const a = actors[Math.floor(random() * actors.length)];
      if (!chosen.includes(a)) chosen.push(a);
    }
    const conv = enrolmentConversation(chosen, 100 + c);
    const samples = parseWav(readFileSync(conv.path)).samples;
    const { result, voices } = await diarizer.diarizeWithVoices(samples, FREE);
    const segments = await speechSegmentVoices(samples, vad, diarizer);
    runs.push({ reference: conv.reference, chosen, result, voices, segments });
    for (const { start, end, embedding } of segments) {
      const actor = mostOf(conv.reference, start, end)?.slice(5);
      if (!actor || !prints.has(actor)) continue;
      for (const [a, p] of prints) (a === actor ? segmentGenuine : segmentImpostor).push(cosine(embedding, p));
    }
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

  // The shape of the e2e check: the first two actors of each conversation enrolled, the third not; and the same
  // conversations with two absent actors enrolled instead (any name given is a false accept).
  const shape = (t: number) => {
    let passed = 0;
    let absentNamed = 0;
    runs.forEach(({ reference, chosen, result, voices }, i) => {
      const enrolled = chosen.slice(0, 2).map(print);
      const named = nameSpeakers(result, matchVoices(voices, enrolled, t)).turns;
      const known = enrolled.every((e) => coverage(reference, e.name, named, (x) => x === e.name) >= 0.9);
      const third = coverage(reference, `actor${chosen[2]}`, named, (x) => x.startsWith('actor')) < 0.1;
      if (known && third) passed++;
      const absent = actors
        .filter((a) => !chosen.includes(a))
        .slice(i % 10, (i % 10) + 2)
        .map(print);
      absentNamed += matchVoices(voices, absent, t).length;
    });
    return { passed, absentNamed };
  };
  const rows = [];
  for (let t = 0.45; t <= 0.701; t += 0.01) {
    const fa = impostor.filter((s) => s >= t).length / impostor.length;
    const faAny = impostorMax.filter((s) => s >= t).length / impostorMax.length;
    const ta = genuine.filter((s, i) => s >= t && beatsOthers[i]).length / genuine.length;
    const { passed, absentNamed } = shape(t);
    rows.push({
      threshold: Math.round(t * 1000) / 1000,
      false_accept: fa,
      false_accept_of_15: faAny,
      true_accept: ta,
      e2e_shape_passed: passed,
      absent_named: absentNamed,
    });
  }
  console.log(`enrolment speech: ${Math.min(...enrolSpeech).toFixed(2)}–${Math.max(...enrolSpeech).toFixed(2)} s; diarized speakers scored: ${genuine.length}`);
  console.log(
    `${runs.length} conversations; e2e shape: both enrolled named on ≥ 90% of their speech and the third unnamed; absent: speakers named when two absent actors are enrolled`,
  );
  console.log('threshold  false accept (per voiceprint)  false accept (any of 15)  true accept  e2e shape  absent named');
  const pct = (x: number, w: number) => `${(x * 100).toFixed(1).padStart(w)}%`;
  for (const r of rows)
    console.log(
      `${r.threshold.toFixed(3).padStart(9)}  ${pct(r.false_accept, 29)}  ${pct(r.false_accept_of_15, 23)}  ${pct(r.true_accept, 10)}  ${String(r.e2e_shape_passed).padStart(9)}  ${String(r.absent_named).padStart(12)}`,
    );
  const chosen = rows.find((r) => r.false_accept <= 0.02);

  // dia.mode "identify": the segments as identifySpeech labels them, at each threshold.
  const identifyShape = (t: number) =>
    runs.filter(({ reference, chosen: actorsIn, segments }) => {
      const enrolled = actorsIn.slice(0, 2).map(print);
      const labelled = identifiedResult(
        [segments.map(({ start, end, embedding }) => ({ start, end, match: nearestVoice(embedding, enrolled, t) }))],
        '',
        TURN_GAP_S,
      ).turns;
      const known = enrolled.every((e) => coverage(reference, e.name, labelled, (x) => x === e.name) >= 0.9);
      return known && coverage(reference, `actor${actorsIn[2]}`, labelled, (x) => x.startsWith('actor')) < 0.1;
    }).length;
  const identifyRows = [];
  for (let t = 0.45; t <= 0.701; t += 0.01) {
    identifyRows.push({
      threshold: Math.round(t * 1000) / 1000,
      false_accept: segmentImpostor.filter((s) => s >= t).length / segmentImpostor.length,
      true_accept: segmentGenuine.filter((s) => s >= t).length / segmentGenuine.length,
      e2e_shape_passed: identifyShape(t),
    });
  }
  console.log(`\ndia.mode "identify": ${segmentGenuine.length} VAD speech segments scored (each against the ${prints.size} voiceprints)`);
  console.log('threshold  false accept (per voiceprint)  own voiceprint reached  e2e shape');
  for (const r of identifyRows)
    console.log(`${r.threshold.toFixed(3).padStart(9)}  ${pct(r.false_accept, 29)}  ${pct(r.true_accept, 22)}  ${String(r.e2e_shape_passed).padStart(9)}`);
  console.log(
    JSON.stringify({
      bench: 'speaker-identification',
      speakers: genuine.length,
      threshold: DEFAULT_MATCH_THRESHOLD,
      conversations: n,
      lowest_threshold_at_2pct_fa: chosen ?? null,
      rows,
      identify: { segments: segmentGenuine.length, rows: identifyRows },
    }),
  );
}

/** The reference speaker who says most of [start, end). */
function mostOf(reference: Turn[], start: number, end: number): string | undefined {
  const overlap = new Map<string, number>();
  for (const r of reference) {
    const o = Math.min(end, r.end) - Math.max(start, r.start);
    if (o > 0) overlap.set(r.speaker, (overlap.get(r.speaker) ?? 0) + o);
  }
  return [...overlap].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Share of a reference speaker's speech that hypothesis turns with an accepted label cover. */
function coverage(reference: Turn[], speaker: string, hypothesis: Turn[], accepted: (label: string) => boolean): number {
  let total = 0;
  let covered = 0;
  for (const r of reference.filter((t) => t.speaker === speaker)) {
    total += r.end - r.start;
    for (const h of hypothesis.filter((t) => accepted(t.speaker))) covered += Math.max(0, Math.min(h.end, r.end) - Math.max(h.start, r.start));
  }
  return covered / total;
}

void main();
