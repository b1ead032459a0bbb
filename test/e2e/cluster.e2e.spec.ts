/**
 * The PM2 cluster from the project's own dependencies: `pm2-runtime start ecosystem.config.js` (as `npm run
 * start:cluster` and the Docker image run it) with 2 CPU instances on one port. Both serve requests, jobs (one job
 * store under DATA_DIR) and streams, and SIGTERM drains them: an in-flight request completes, then both exit.
 *
 * Node's cluster hands each new connection to the next instance, and a keep-alive connection stays with the instance
 * that took it, so the test pins one connection to each instance (told apart by /health's pid) and sends through it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StreamServerMessage } from '../../libs/contracts/process';
import { parseWav } from '../../libs/audio/wav';
import { normalizeForWer, wordErrors } from '../../libs/text/wer';
import { freePort, jsonOrNull, manifest, SHARED_MODELS, TESTDATA, TEST_STT_MODEL } from '../support/server';
import { StreamClient, toPcm16 } from '../support/stream-client';

const ROOT = resolve(__dirname, '../..');
const JFK = join(TESTDATA, 'stt/en/jfk.wav');
/** 6.6 s, one utterance: what each stream sends. */
const STREAMED = 'stt/en/librispeech_1089-134686-0001.wav';
/** 16.7 s: long enough to be still decoding when SIGTERM comes. */
const DRAINED = join(TESTDATA, 'stt/en/librispeech_1221-135766-0001.wav');
const TRANSCRIBE = { settings: { tasks: ['transcribe'], tra: { language: 'en' } } };
const work = mkdtempSync(join(tmpdir(), 'earshot-cluster-'));

/** Where a long test is, live on stderr (jest holds console output back until the file ends). */
const t0 = Date.now();
const phase = (what: string) => process.stderr.write(`[cluster +${Math.round((Date.now() - t0) / 1000)} s] ${what}\n`);

let runtime: ChildProcess | undefined;
const pids: number[] = [];

afterAll(() => {
  if (runtime?.exitCode === null) runtime.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function newestMtime(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/** The cluster runs dist/src/main.js: build it unless a build newer than every source is there. */
function ensureBuild(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/src/main.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'libs')))) return;
  phase('npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
}

interface Answer {
  status: number;
  json: any;
  /** The client port of the connection that carried the request. */
  localPort: number;
}

/** One keep-alive connection to the cluster, and so to the one instance that accepted it. */
class Pinned {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  pid = 0;
  localPort = 0;

  constructor(private readonly port: number) {}

  send(method: string, path: string, body?: { bytes: Buffer; type: string }): Promise<Answer> {
    return new Promise((resolvePromise, reject) => {
      const headers = body ? { 'content-type': body.type, 'content-length': String(body.bytes.length) } : {};
      const req = request({ host: '127.0.0.1', port: this.port, method, path, agent: this.agent, headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, json: jsonOrNull(text), localPort: req.socket!.localPort! }));
      });
      req.on('error', reject);
      req.end(body?.bytes);
    });
  }

  /** Sends through this connection and checks it is still the one that /health tied to `pid`. */
  async call(method: string, path: string, body?: { bytes: Buffer; type: string }): Promise<Answer> {
    const answer = await this.send(method, path, body);
    expect(answer.localPort).toBe(this.localPort);
    return answer;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A multipart body as fetch would send it. */
async function multipart(audioPath: string, requestJson: object): Promise<{ bytes: Buffer; type: string }> {
  const form = new FormData();
  form.append('audio', new Blob([readFileSync(audioPath)]), 'audio.wav');
  form.append('request_json', JSON.stringify(requestJson));
  const req = new Request('http://localhost/', { method: 'POST', body: form });
  return { bytes: Buffer.from(await req.arrayBuffer()), type: req.headers.get('content-type')! };
}

/** Opens connections until two of them reach two different instances that both say /ready. */
async function pinBothInstances(port: number): Promise<[Pinned, Pinned]> {
  const byPid = new Map<number, Pinned>();
  const deadline = Date.now() + 120_000;
  while (byPid.size < 2) {
    if (runtime!.exitCode !== null) throw new Error(`pm2-runtime exited ${runtime!.exitCode}`);
    if (Date.now() > deadline) throw new Error(`no two ready instances in 120 s (found pids ${[...byPid.keys()].join(', ')})`);
    const pinned = new Pinned(port);
    const health = await pinned.send('GET', '/health').catch(() => null);
    const ready = health && (await pinned.send('GET', '/ready'));
    if (health?.status === 200 && ready?.status === 200 && ready.localPort === health.localPort && !byPid.has(health.json.pid)) {
      pinned.pid = health.json.pid;
      pinned.localPort = health.localPort;
      byPid.set(pinned.pid, pinned);
    } else {
      pinned.close();
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const [a, b] = [...byPid.values()];
  return [a, b];
}

type Final = Extract<StreamServerMessage, { type: 'final' }>;

// A build from scratch takes about 40 s on a busy 2-core machine.
beforeAll(ensureBuild, 180_000);

test('2 CPU instances under pm2-runtime share the port, the job store and streams; SIGTERM drains both', async () => {
  const port = await freePort();
  let output = '';
  runtime = spawn(process.execPath, [join(ROOT, 'node_modules/pm2/bin/pm2-runtime'), 'start', 'ecosystem.config.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PM2_HOME: join(work, 'pm2'),
      INSTANCES: '2',
      DEVICE: 'cpu',
      ORT_INTRA_OP_THREADS: '1',
      HOST: '127.0.0.1',
      PORT: String(port),
      MODELS_DIR: SHARED_MODELS,
      DEFAULT_STT_MODEL: TEST_STT_MODEL,
      DATA_DIR: join(work, 'data'),
      UPLOAD_DIR: join(work, 'uploads'),
      RATE_LIMIT_PER_MIN: '0',
      REDIS_URL: '',
      // pm2's kill_timeout is this + 10 s: time for the in-flight request below.
      SHUTDOWN_TIMEOUT_S: '30',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runtime.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  runtime.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => runtime!.on('exit', (code) => r(code)));

  const [a, b] = await pinBothInstances(port).catch((err: Error) => {
    throw new Error(`${err.message}\n${output.slice(-4000)}`);
  });
  pids.push(a.pid, b.pid);
  phase(`instances ${a.pid} and ${b.pid} ready`);

  // Requests: each instance transcribes one.
  const jfk = await multipart(JFK, TRANSCRIBE);
  for (const answer of await Promise.all([a.call('POST', '/v1/process', jfk), b.call('POST', '/v1/process', jfk)])) {
    expect(answer.status).toBe(200);
    expect(answer.json.result.tra.text).toMatch(/ask not what your country can do for you/i);
  }
  phase('requests served by both');

  // A job: submitted to one instance, followed on the other (one job store in DATA_DIR), run by either.
  const submitted = await a.call('POST', '/v1/process', await multipart(JFK, { ...TRANSCRIBE, async_process: true }));
  expect(submitted.status).toBe(202);
  let job: Answer;
  for (let deadline = Date.now() + 60_000; ;) {
    job = await b.call('GET', `/v1/jobs/${submitted.json.job_id}`);
    expect(job.status).toBe(200);
    if (job.json.status === 'completed' || job.json.status === 'failed' || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(job.json.status).toBe('completed');
  expect(job.json.result.result.tra.text).toMatch(/ask not what your country can do for you/i);
  phase('job done');

  // Streams: new connections until each instance holds one (GET /v1/ws/stats is per instance), then one utterance each.
  const streams: StreamClient[] = [];
  const held = async () => Promise.all([a, b].map(async (p) => (await p.call('GET', '/v1/ws/stats')).json.active_streams as number));
  while ((await held()).some((n) => n === 0)) {
    expect(streams.length).toBeLessThan(6);
    const stream = await new StreamClient(`http://127.0.0.1:${port}`).open();
    stream.send({ ...TRANSCRIBE, sample_rate: 16000 });
    await stream.next('ready');
    streams.push(stream);
  }
  phase(`${streams.length} streams open over both instances`);
  const pcm = toPcm16(parseWav(readFileSync(join(TESTDATA, STREAMED))).samples);
  const reference = normalizeForWer(manifest().find((e) => e.path === STREAMED)!.reference);
  const runs = streams.map(async (stream) => {
    for (let at = 0; at < pcm.length; at += 3200) stream.send(pcm.subarray(at, at + 3200));
    stream.send({ type: 'end' });
    expect(await stream.closed).toBe(1000);
    return stream.messages
      .filter((m): m is Final => m.type === 'final')
      .map((m) => m.segment.text)
      .join(' ');
  });
  for (const text of await Promise.all(runs)) {
    // Streamed whisper-tiny gets most words of it (live decoding differs from a file's; test/e2e/stream.e2e.spec.ts).
    const { edits, words } = wordErrors(reference, normalizeForWer(text));
    expect(edits / words).toBeLessThan(0.5);
  }
  phase('streams done');

  // SIGTERM while a request is in flight: it completes, then both instances and pm2-runtime exit.
  const inFlight = a.call('POST', '/v1/process', await multipart(DRAINED, TRANSCRIBE)).then((answer) => ({ answer, at: Date.now() }));
  await new Promise((r) => setTimeout(r, 300));
  const terminatedAt = Date.now();
  runtime.kill('SIGTERM');
  phase('SIGTERM');
  const { answer, at } = await inFlight;
  expect(at).toBeGreaterThan(terminatedAt);
  expect(answer.status).toBe(200);
  expect(answer.json.result.tra.text).toMatch(/direct consequence of the sin/i);
  // pm2-runtime exits 0, or 2 when its watcher for "no app online" wins the race with its SIGTERM handler; both
  // wait for the apps to stop. The apps' own exits are what matter:
  await exited;
  phase('pm2-runtime exited');
  expect([a.pid, b.pid].filter(alive)).toEqual([]);
  // both stopped on their own with code 0 after pm2's SIGINT, none was killed at kill_timeout.
  expect(output.match(/App \[earshot:\d\] exited with code \[0\] via signal \[SIGINT\]/g)).toHaveLength(2);
  expect(output).not.toMatch(/still alive after/);
  a.close();
  b.close();
}, 240_000);
