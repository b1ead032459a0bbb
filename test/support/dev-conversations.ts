/**
 * The DEV turn-taking conversation set: 2 to 4 RAVDESS training actors (../shared/datasets/ravdess-train) taking
 * turns with 0.3–0.9 s gaps and no overlap, every actor saying the same two sentences in random emotions, so that
 * only the voice tells speakers apart. The reference turns are exact (one trimmed utterance each). Built
 * deterministically from seeds and cached as WAV + RTTM under the OS temp folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { speechExtent } from '../../libs/audio/speech-extent';
import { encodeWavPcm16, parseWav } from '../../libs/audio/wav';
import { composeConversation } from '../../libs/diarization/conversation';
import { parseRttm, type Turn } from '../../libs/diarization/der';
import { seededRandom } from '../../libs/math/seeded-random';
import { TESTDATA } from './server';

export const RAVDESS_TRAIN = resolve(__dirname, '../../../shared/datasets/ravdess-train');
const CACHE = join(tmpdir(), 'earshot-dev-conversations-v3');
const SAMPLE_RATE = 16000;

export interface DevConversation {
  name: string;
  speakers: number;
  path: string;
  reference: Turn[];
  durationS: number;
}

/** Seed and speaker count of each conversation: three each of 2, 3 and 4 speakers. */
const PLAN: Array<{ seed: number; speakers: number }> = [
  { seed: 11, speakers: 2 },
  { seed: 12, speakers: 2 },
  { seed: 13, speakers: 2 },
  { seed: 21, speakers: 3 },
  { seed: 22, speakers: 3 },
  { seed: 23, speakers: 3 },
  { seed: 31, speakers: 4 },
  { seed: 32, speakers: 4 },
  { seed: 33, speakers: 4 },
];

/** One RAVDESS file → 16 kHz mono float32, trimmed to its speech. */
export function utterance(file: string): Float32Array {
  return speechOf(join(RAVDESS_TRAIN, file));
}

/** Any audio file → 16 kHz mono float32, trimmed to its speech. */
function speechOf(path: string): Float32Array {
  const out = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 'f32le', '-'], {
    maxBuffer: 64 << 20,
  });
  if (out.status !== 0) throw new Error(`ffmpeg failed on ${path}: ${out.stderr.toString()}`);
  const samples = new Float32Array(out.stdout.buffer.slice(out.stdout.byteOffset, out.stdout.byteOffset + out.stdout.byteLength));
  const [a, b] = speechExtent(samples, SAMPLE_RATE);
  return samples.slice(a, b);
}

function build(seed: number, speakers: number, name: string): void {
  const random = seededRandom(seed);
  const files = readdirSync(RAVDESS_TRAIN).filter((f) => f.endsWith('.flac'));
  const actors = [...new Set(files.map((f) => f.slice(-7, -5)))].sort();
  const chosen: string[] = [];
  while (chosen.length < speakers) {
    const actor = actors[Math.floor(random() * actors.length)];
    if (!chosen.includes(actor)) chosen.push(actor);
  }
  const utterances = new Map<string, Float32Array[]>();
  for (const actor of chosen) {
    const own = files.filter((f) => f.slice(-7, -5) === actor);
    const picked: Float32Array[] = [];
    for (let i = 0; i < 6; i++) picked.push(utterance(own[Math.floor(random() * own.length)]));
    utterances.set(`actor${actor}`, picked);
  }
  const { audio, turns } = composeConversation(utterances, { sampleRate: SAMPLE_RATE, turns: 4 * speakers + 2, gapS: [0.3, 0.9], edgeS: 0.5, seed });
  writeFileSync(join(CACHE, `${name}.wav`), encodeWavPcm16(audio, SAMPLE_RATE));
  const rttm = turns.map((t) => `SPEAKER ${name} 1 ${t.start.toFixed(3)} ${(t.end - t.start).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>`);
  writeFileSync(join(CACHE, `${name}.rttm`), `${rttm.join('\n')}\n`);
}

/** The DEV conversations, built on first use. */
export function devConversations(): DevConversation[] {
  mkdirSync(CACHE, { recursive: true });
  return PLAN.map(({ seed, speakers }) => {
    const name = `conv${speakers}spk_s${seed}`;
    const path = join(CACHE, `${name}.wav`);
    if (!existsSync(path) || !existsSync(join(CACHE, `${name}.rttm`))) build(seed, speakers, name);
    const durationS = parseWav(readFileSync(path)).samples.length / SAMPLE_RATE;
    return { name, speakers, path, reference: parseRttm(readFileSync(join(CACHE, `${name}.rttm`), 'utf8')), durationS };
  });
}

/** The RAVDESS training actors ("05"…) and their files. */
export function ravdessActors(): Map<string, string[]> {
  const byActor = new Map<string, string[]>();
  for (const f of readdirSync(RAVDESS_TRAIN)
    .filter((name) => name.endsWith('.flac'))
    .sort()) {
    const actor = f.slice(-7, -5);
    byActor.set(actor, [...(byActor.get(actor) ?? []), f]);
  }
  return byActor;
}

/**
 * Known-speaker identification on DEV: one enrolment clip per actor (the neutral first statement, first take, as
 * recorded: silence and all), and a turn-taking conversation of `actors` built from their other clips (so no
 * enrolment clip is heard again). Turns are labelled `actorNN`.
 */
export function enrolmentConversation(actors: string[], seed: number): { enrolment: Map<string, string>; path: string; reference: Turn[] } {
  mkdirSync(CACHE, { recursive: true });
  const files = ravdessActors();
  const enrolment = new Map(actors.map((a) => [a, join(RAVDESS_TRAIN, `03-01-01-01-01-01-${a}.flac`)]));
  const name = `enrol_${actors.join('-')}_s${seed}`;
  const path = join(CACHE, `${name}.wav`);
  const rttmPath = join(CACHE, `${name}.rttm`);
  if (!existsSync(path) || !existsSync(rttmPath)) {
    const random = seededRandom(seed);
    const utterances = new Map<string, Float32Array[]>();
    for (const actor of actors) {
      const own = files.get(actor)!.filter((f) => join(RAVDESS_TRAIN, f) !== enrolment.get(actor));
      utterances.set(
        `actor${actor}`,
        Array.from({ length: 5 }, () => utterance(own[Math.floor(random() * own.length)])),
      );
    }
    const { audio, turns } = composeConversation(utterances, { sampleRate: SAMPLE_RATE, turns: 4 * actors.length, gapS: [0.3, 0.9], edgeS: 0.5, seed });
    writeFileSync(path, encodeWavPcm16(audio, SAMPLE_RATE));
    writeFileSync(
      rttmPath,
      `${turns.map((t) => `SPEAKER ${name} 1 ${t.start.toFixed(3)} ${(t.end - t.start).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>`).join('\n')}\n`,
    );
  }
  for (const clip of enrolment.values()) if (!existsSync(clip)) throw new Error(`missing enrolment clip ${clip}`);
  return { enrolment, path, reference: parseRttm(readFileSync(rttmPath, 'utf8')) };
}

/**
 * Known voices in unlike recordings (../shared/testdata/stt: audiobook readers saying different things): `linda`
 * (LJSpeech) and `hester` (LibriSpeech 1221) with one enrolment clip each (2.6 s and 4.8 s), and a conversation of
 * six turns from their other clips and a third, unenrolled reader (LibriSpeech 2412). Turns are labelled with those
 * names and `other`.
 */
export function knownVoicesConversation(): { enrolment: Map<string, string>; path: string; reference: Turn[] } {
  mkdirSync(CACHE, { recursive: true });
  const clip = (name: string) => join(TESTDATA, 'stt/en', name);
  const enrolment = new Map([
    ['linda', clip('ljspeech_LJ001-0013.wav')],
    ['hester', clip('librispeech_1221-135766-0002.wav')],
  ]);
  const path = join(CACHE, 'known-voices_s1.wav');
  const rttmPath = join(CACHE, 'known-voices_s1.rttm');
  if (!existsSync(path) || !existsSync(rttmPath)) {
    const utterances = new Map([
      ['linda', ['ljspeech_LJ001-0001.wav', 'ljspeech_LJ001-0014.wav', 'ljspeech_LJ001-0002.wav'].map((f) => speechOf(clip(f)))],
      ['hester', [speechOf(clip('librispeech_1221-135766-0001.wav'))]],
      ['other', [speechOf(clip('librispeech_2412-153948-0000.wav'))]],
    ]);
    const { audio, turns } = composeConversation(utterances, { sampleRate: SAMPLE_RATE, turns: 6, gapS: [0.3, 0.9], edgeS: 0.5, seed: 1 });
    writeFileSync(path, encodeWavPcm16(audio, SAMPLE_RATE));
    writeFileSync(
      rttmPath,
      `${turns.map((t) => `SPEAKER known-voices 1 ${t.start.toFixed(3)} ${(t.end - t.start).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>`).join('\n')}\n`,
    );
  }
  return { enrolment, path, reference: parseRttm(readFileSync(rttmPath, 'utf8')) };
}
