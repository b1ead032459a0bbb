/**
 * Fuzz: a real DEV clip (its first 1.9 s) in wav, mp3, ogg/opus, flac and m4a, truncated and bit-flipped, plus
 * random bytes (seeded, 210 cases). MAX_AUDIO_SECONDS=2 keeps every case cheap: anything that would decode longer
 * is refused with 413 after decoding up to the limit. Each must get 200 or a 4xx JSON error within the time limit; the service never fails or
 * dies, and a good request afterwards is still transcribed correctly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wordErrors } from '../../libs/text/wer';
import { manifest, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';
import { seededRandom } from '../../libs/math/seeded-random';

const CLIP = 'stt/en/timit_LDC93S1.wav'; // 2.9 s, cut to 1.9 s
const GOOD = 'stt/en/ljspeech_LJ001-0002.wav'; // 1.9 s, under MAX_AUDIO_SECONDS
const SEED = 0x5eed;
const PER_REQUEST_TIMEOUT_MS = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'earshot-fuzz-'));
let server: TestServer;

const ENCODINGS: Record<string, string[]> = {
  wav: ['-c:a', 'pcm_s16le'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '64k'],
  ogg: ['-c:a', 'libopus', '-b:a', '32k'],
  flac: ['-c:a', 'flac'],
  m4a: ['-c:a', 'aac', '-b:a', '64k'],
};

interface Case {
  name: string;
  bytes: Uint8Array;
}

function cases(): Case[] {
  const random = seededRandom(SEED);
  const source = join(TESTDATA, CLIP);
  const out: Case[] = [];
  for (const [ext, codec] of Object.entries(ENCODINGS)) {
    const path = join(dir, `clip.${ext}`);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', source, '-t', '1.9', ...codec, path]);
    const good = readFileSync(path);
    for (const fraction of [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
      out.push({ name: `${ext} truncated to ${fraction}`, bytes: good.subarray(0, Math.floor(good.length * fraction)) });
    }
    for (let i = 0; i < 28; i++) {
      const bytes = Uint8Array.from(good);
      const flips = 1 + Math.floor(random() * 64);
      // Half the cases aim at the first 512 bytes, where headers and codec setup live.
      const span = i % 2 === 0 ? Math.min(512, bytes.length) : bytes.length;
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * span)] ^= 1 << Math.floor(random() * 8);
      out.push({ name: `${ext} with ${flips} bit flips #${i}`, bytes });
    }
  }
  const magics = ['RIFF\x24\x00\x00\x00WAVEfmt ', 'ID3\x03\x00', 'OggS\x00\x02', 'fLaC\x00\x00\x00\x22', '\x00\x00\x00\x20ftypM4A ', ''];
  for (let i = 0; i < 20; i++) {
    const body = Uint8Array.from({ length: Math.floor(random() * 65536) }, () => Math.floor(random() * 256));
    const magic = Buffer.from(magics[i % magics.length], 'latin1');
    out.push({ name: `random ${body.length} bytes after "${magics[i % magics.length].slice(0, 4)}"`, bytes: Buffer.concat([magic, body]) });
  }
  return out;
}

beforeAll(async () => {
  // Intake is under test here, not admission: nothing is refused for load (see hardening-overload.e2e.spec.ts).
  server = await startServer({ MAX_AUDIO_SECONDS: '2', FFMPEG_TIMEOUT_S: '20', MAX_QUEUE_LENGTH: '64', MAX_QUEUE_WAIT_MS: '86400000' });
});

afterAll(async () => {
  await server?.close();
});

test('≥ 200 seeded malformed inputs: each 200 or a 4xx JSON error in time, the service keeps working', async () => {
  const all = cases();
  expect(all.length).toBeGreaterThanOrEqual(200);
  const outcomes: Array<{ name: string; status: number; code?: string; ms?: number }> = [];
  let next = 0;
  // The cases test the intake (upload, probing, decoding), which every task shares. Diarization is the cheapest task
  // to run on what decodes: Whisper on noise can walk its whole temperature-fallback ladder, minutes per case here.
  const request = JSON.stringify({ settings: { tasks: ['diarization'] } });
  // Three at a time: the service takes them concurrently, as it would from real clients.
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < all.length) {
        const c = all[next++];
        const form = new FormData();
        form.append('audio', new Blob([c.bytes]), 'fuzz.bin');
        form.append('request_json', request);
        const started = performance.now();
        let res: Response;
        let text: string;
        try {
          res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form, signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS) });
          text = await res.text();
        } catch (err) {
          outcomes.push({ name: c.name, status: 0, code: `${(err as Error).name}: ${String((err as Error).cause ?? (err as Error).message)}` });
          continue;
        }
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        const wellFormed =
          res.status === 200 ? typeof json?.result === 'object' : typeof json?.error?.code === 'string' && typeof json?.error?.message === 'string';
        outcomes.push({ name: c.name, status: wellFormed ? res.status : -res.status, code: json?.error?.code, ms: Math.round(performance.now() - started) });
      }
    }),
  );
  const byStatus = outcomes.reduce<Record<string, number>>(
    (acc, o) => ({ ...acc, [`${o.status} ${o.code ?? ''}`.trim()]: (acc[`${o.status} ${o.code ?? ''}`.trim()] ?? 0) + 1 }),
    {},
  );
  const slowest = [...outcomes].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0)).slice(0, 3);
  console.log(`fuzz: ${outcomes.length} cases`, byStatus, 'slowest', slowest);
  const bad = outcomes.filter((o) => !(o.status === 200 || (o.status >= 400 && o.status < 500)));
  expect(bad).toEqual([]);
  expect(outcomes.filter((o) => o.status === 200).length).toBeGreaterThan(0); // truncated-but-decodable files still transcribe
  expect(outcomes.filter((o) => o.status === 415).length).toBeGreaterThan(0);

  const health: any = await (await fetch(`${server.url}/health`)).json();
  expect(health).toMatchObject({ status: 'ok', inference_worker_restarts: 0 });
  const clip = manifest().find((e) => e.path === GOOD)!;
  const good = await postProcess(server.url, join(TESTDATA, GOOD), { settings: { tasks: ['transcribe'], tra: { language: 'en' } } });
  expect(good.status).toBe(200);
  const { edits, words } = wordErrors(clip.reference, good.json.result.tra.text);
  expect(edits / words).toBeLessThan(0.3);
}, 1_200_000);
