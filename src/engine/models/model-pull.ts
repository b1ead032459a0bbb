/**
 * Downloads a transformers.js Whisper export (q8 ONNX) from the Hugging Face Hub into
 * `<modelsDir>/<name>/`, an audio-classification export (an emotion model) into `<modelsDir>/emotion/<name>/`, or a
 * speaker-embedding ONNX export into `<modelsDir>/embedding/<name>/`, a speaker-segmentation export into
 * `<modelsDir>/segmentation/<name>/`: the layouts the server loads models from. A few models are single files
 * published as release assets (sherpa-onnx's CAM++), fetched from their URL into the same layout.
 *
 * Every file is streamed to disk, checked against the size and hash the Hub API (or the release table) gives,
 * and the model folder only appears once all files are verified.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Short names accepted by `models:pull`, mapped to Hugging Face repos holding q8 ONNX exports. */
export const KNOWN_MODELS: Readonly<Record<string, string>> = {
  'whisper-tiny': 'Xenova/whisper-tiny',
  'whisper-tiny.en': 'Xenova/whisper-tiny.en',
  'whisper-base': 'Xenova/whisper-base',
  'whisper-base.en': 'Xenova/whisper-base.en',
  'whisper-small': 'Xenova/whisper-small',
  'whisper-small.en': 'Xenova/whisper-small.en',
  'whisper-medium': 'Xenova/whisper-medium',
  'whisper-large-v3': 'Xenova/whisper-large-v3',
  'whisper-large-v3-turbo': 'onnx-community/whisper-large-v3-turbo',
  'distil-whisper-large-v3': 'distil-whisper/distil-large-v3',
};

/** Short names of emotion models (transformers.js audio-classification exports with q8 weights). */
export const KNOWN_EMOTION_MODELS: Readonly<Record<string, string>> = {
  // wav2vec2-base-960h fine-tuned on emotional speech; 8 labels, ~95 MB in q8.
  'wav2vec2-ser': 'onnx-community/Speech-Emotion-Classification-ONNX',
};

/**
 * Speaker-embedding models for diarization (ONNX exports), stored in `<modelsDir>/embedding/<name>/` where the
 * diarizer looks for one.
 */
export const EMBEDDING_MODELS: Readonly<Record<string, string>> = {
  'wespeaker-resnet34': 'onnx-community/wespeaker-voxceleb-resnet34-LM',
};

/** Speaker-segmentation models (transformers.js exports), stored in `<modelsDir>/segmentation/<name>/`. */
export const SEGMENTATION_MODELS: Readonly<Record<string, string>> = {
  // The fp32 export of the model built in as assets/diarization/segmentation (int8 there).
  'pyannote-segmentation-3.0': 'onnx-community/pyannote-segmentation-3.0',
};

export type PullKind = 'stt' | 'emotion' | 'embedding' | 'segmentation';

const KNOWN_BY_KIND: Record<PullKind, Readonly<Record<string, string>>> = {
  stt: KNOWN_MODELS,
  emotion: KNOWN_EMOTION_MODELS,
  embedding: EMBEDDING_MODELS,
  segmentation: SEGMENTATION_MODELS,
};

/** A model published as one file at a URL (a GitHub release asset) rather than as a Hub repo. */
export interface ReleaseModel {
  kind: PullKind;
  /** Path under the release endpoint. */
  path: string;
  bytes: number;
}

/** Models that k2-fsa publishes as sherpa-onnx release assets. */
export const RELEASE_MODELS: Readonly<Record<string, ReleaseModel>> = {
  // CAM++ (3D-Speaker zh-en common advanced): the speaker embedder built in as assets/diarization/embedding.
  'campplus-zh-en': {
    kind: 'embedding',
    path: 'speaker-recongition-models/3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx',
    bytes: 28_281_164,
  },
};

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_RELEASES_ENDPOINT = 'https://github.com/k2-fsa/sherpa-onnx/releases/download';

interface Layout {
  required: string[];
  optional: string[];
  /** What a repo without the required files is not. */
  description: string;
}

const WHISPER_REQUIRED_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'onnx/encoder_model_quantized.onnx',
  'onnx/decoder_model_merged_quantized.onnx',
];
const LAYOUTS: Record<PullKind, Layout> = {
  stt: {
    required: WHISPER_REQUIRED_FILES,
    optional: ['tokenizer_config.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'special_tokens_map.json', 'normalizer.json'],
    description: 'a transformers.js Whisper export with q8 weights',
  },
  emotion: {
    required: ['config.json', 'preprocessor_config.json', 'onnx/model_quantized.onnx'],
    optional: [],
    description: 'a transformers.js audio-classification export with q8 weights',
  },
  embedding: {
    required: ['onnx/model.onnx'],
    optional: ['config.json', 'preprocessor_config.json'],
    description: 'an ONNX speaker-embedding export',
  },
  segmentation: {
    required: ['onnx/model.onnx'],
    optional: ['config.json', 'preprocessor_config.json'],
    description: 'an ONNX speaker-segmentation export',
  },
};

const MAX_ATTEMPTS = 4;
const RETRY_BASE_DELAY_MS = 1000;
const PROGRESS_INTERVAL_MS = 2000;

export interface PullOptions {
  /** A key of KNOWN_MODELS or KNOWN_EMOTION_MODELS, or any `owner/repo` (stored as the lower-cased repo name). */
  name: string;
  /** What an `owner/repo` holds; known names bring their own. Default stt. */
  kind?: PullKind;
  modelsDir: string;
  endpoint?: string;
  /** Where RELEASE_MODELS are fetched from (default DEFAULT_RELEASES_ENDPOINT). */
  releasesEndpoint?: string;
  revision?: string;
  token?: string;
  force?: boolean;
  fetchImpl?: typeof fetch;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface PulledFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface PullResult {
  dir: string;
  /** Files downloaded by this call; empty when the model was already present. */
  files: PulledFile[];
}

export class ModelPullError extends Error {
  constructor(
    message: string,
    /** Transient failure (network, 5xx) worth another attempt. */
    readonly retryable = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ModelPullError';
  }
}

interface RemoteFile {
  path: string;
  size: number;
  /** Present for LFS files: sha256 of the content. */
  sha256?: string;
  /** Git blob sha1; only describes the content for non-LFS files. */
  blobId?: string;
}

interface Context {
  repo: string;
  revision: string;
  endpoint: string;
  token?: string;
  fetchImpl: typeof fetch;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** What a pull name holds: a known emotion or embedding name says so itself, anything else is `requested` (default stt). */
export function pullKind(name: string, requested?: PullKind): PullKind {
  if (Object.hasOwn(KNOWN_EMOTION_MODELS, name)) return 'emotion';
  if (Object.hasOwn(EMBEDDING_MODELS, name)) return 'embedding';
  if (Object.hasOwn(SEGMENTATION_MODELS, name)) return 'segmentation';
  if (Object.hasOwn(RELEASE_MODELS, name)) return RELEASE_MODELS[name].kind;
  return requested ?? 'stt';
}

/** Maps a pull name to its Hub repo and the folder (relative to MODELS_DIR) it is stored in. */
export function resolveModelName(name: string, kind: PullKind = pullKind(name)): { repo: string; folder: string } {
  const known = KNOWN_BY_KIND[kind];
  const prefix = kind === 'stt' ? '' : `${kind}/`;
  if (Object.hasOwn(known, name) || Object.hasOwn(RELEASE_MODELS, name)) return { repo: known[name] ?? name, folder: prefix + name };
  const match = /^[A-Za-z0-9][\w.-]*\/([A-Za-z0-9][\w.-]*)$/.exec(name);
  if (match) return { repo: name, folder: prefix + match[1].toLowerCase() };
  throw new ModelPullError(
    `Unknown model "${name}": use one of ${Object.keys(known).join(', ')}, or a Hugging Face repo as owner/repo`,
  );
}

export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const kind = pullKind(opts.name, opts.kind);
  const release = Object.hasOwn(RELEASE_MODELS, opts.name) ? RELEASE_MODELS[opts.name] : null;
  const fileName = release ? path.posix.basename(release.path) : null;
  const layout: Layout = release ? { required: [fileName!], optional: [], description: 'a release asset' } : LAYOUTS[kind];
  const { repo, folder } = resolveModelName(opts.name, kind);
  const ctx: Context = {
    repo,
    revision: opts.revision ?? 'main',
    endpoint: (opts.endpoint ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, ''),
    token: opts.token,
    fetchImpl: opts.fetchImpl ?? fetch,
    log: opts.log ?? (() => undefined),
    signal: opts.signal,
  };
  const modelsDir = path.resolve(opts.modelsDir);
  const target = path.join(modelsDir, folder);

  if (await hasRequiredFiles(target, layout)) {
    if (!opts.force) {
      ctx.log(`${folder} is already present in ${target} (use --force to download it again)`);
      return { dir: target, files: [] };
    }
  } else if (await pathExists(target)) {
    ctx.log(`${target} exists but is incomplete; it will be replaced`);
  }

  const releasesEndpoint = (opts.releasesEndpoint ?? DEFAULT_RELEASES_ENDPOINT).replace(/\/+$/, '');
  const listing = release ? { files: [{ path: fileName!, size: release.bytes }] } : await fetchListing(ctx);
  // Download by commit so a push to the branch mid-pull cannot mix two versions.
  const fileRevision = listing.commit ?? ctx.revision;
  const wanted = selectFiles(listing.files, ctx, layout);
  const total = wanted.reduce((sum, f) => sum + f.size, 0);
  const source = release ? `${releasesEndpoint}/${release.path}` : `${repo}@${ctx.revision}${listing.commit ? ` (${listing.commit.slice(0, 7)})` : ''}`;
  ctx.log(`Pulling ${source} into ${target}: ${wanted.length} files, ${formatBytes(total)}`);

  await mkdir(path.dirname(target), { recursive: true });
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const files: PulledFile[] = [];
    for (const [i, file] of wanted.entries()) {
      const label = `[${i + 1}/${wanted.length}] ${file.path}`;
      files.push(
        await withRetries(ctx, label, () => {
          const url = release ? `${releasesEndpoint}/${release.path}` : hubFileUrl(ctx, fileRevision, file.path);
          return downloadFile(ctx, file, url, path.join(staging, file.path), label);
        }),
      );
    }
    await moveIntoPlace(staging, target);
    ctx.log(`Done: ${folder} (${formatBytes(total)}) is ready in ${target}`);
    return { dir: target, files };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

function hubFileUrl(ctx: Context, revision: string, file: string): string {
  const filePath = file.split('/').map(encodeURIComponent).join('/');
  return `${ctx.endpoint}/${repoPath(ctx.repo)}/resolve/${encodeURIComponent(revision)}/${filePath}`;
}

async function fetchListing(ctx: Context): Promise<{ commit?: string; files: RemoteFile[] }> {
  const revision = encodeURIComponent(ctx.revision);
  const url = `${ctx.endpoint}/api/models/${repoPath(ctx.repo)}/revision/${revision}?blobs=true`;
  const body = await withRetries(ctx, 'file list', async () => {
    const res = await request(ctx, url);
    if (!res.ok) throw await httpFailure(res, ctx);
    try {
      return (await res.json());
    } catch (err) {
      throw new ModelPullError(`Invalid JSON from ${url}`, true, { cause: err });
    }
  });
  return parseListing(body, url);
}

function parseListing(body: unknown, url: string): { commit?: string; files: RemoteFile[] } {
  const invalid = (why: string) =>
    new ModelPullError(`Unexpected response from ${url} (${why}); is HF_ENDPOINT a Hugging Face Hub?`);
  if (!isRecord(body) || !Array.isArray(body.siblings)) throw invalid('no "siblings" list');
  const files = body.siblings.map((s: unknown): RemoteFile => {
    if (!isRecord(s) || typeof s.rfilename !== 'string') throw invalid('a sibling without "rfilename"');
    const lfs = isRecord(s.lfs) ? s.lfs : undefined;
    const size = typeof lfs?.size === 'number' ? lfs.size : s.size;
    if (typeof size !== 'number') throw invalid(`no size for ${s.rfilename}`);
    return {
      path: s.rfilename,
      size,
      sha256: typeof lfs?.sha256 === 'string' ? lfs.sha256.toLowerCase() : undefined,
      blobId: typeof s.blobId === 'string' ? s.blobId.toLowerCase() : undefined,
    };
  });
  const commit = typeof body.sha === 'string' && /^[0-9a-f]{40}$/.test(body.sha) ? body.sha : undefined;
  return { commit, files };
}

function selectFiles(available: RemoteFile[], ctx: Context, layout: Layout): RemoteFile[] {
  const byPath = new Map(available.map((f) => [f.path, f]));
  const missing = layout.required.filter((p) => !byPath.has(p));
  if (missing.length > 0) {
    throw new ModelPullError(`${ctx.repo}@${ctx.revision} is not ${layout.description}: missing ${missing.join(', ')}`);
  }
  // Smallest first, so access or integrity problems show up before the big downloads.
  return [...layout.required, ...layout.optional]
    .map((p) => byPath.get(p))
    .filter((f): f is RemoteFile => f !== undefined)
    .sort((a, b) => a.size - b.size);
}

async function downloadFile(ctx: Context, file: RemoteFile, url: string, dest: string, label: string): Promise<PulledFile> {
  const res = await request(ctx, url);
  if (!res.ok || !res.body) throw await httpFailure(res, ctx, file.path);

  const sha256 = createHash('sha256');
  // Non-LFS files are only described by their git blob id: sha1("blob <size>\0" + content).
  const gitSha1: Hash | undefined = file.sha256 ? undefined : createHash('sha1').update(`blob ${file.size}\0`);
  const progress = progressReporter(ctx, label, file.size);
  let bytes = 0;
  const body = res.body;

  async function* receive(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        sha256.update(chunk);
        gitSha1?.update(chunk);
        progress(bytes);
        yield chunk;
      }
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      throw new ModelPullError(`connection lost while downloading ${file.path}: ${describe(err)}`, true, {
        cause: err,
      });
    }
  }

  await mkdir(path.dirname(dest), { recursive: true });
  await pipeline(receive(), createWriteStream(dest), { signal: ctx.signal });

  if (bytes !== file.size) {
    throw new ModelPullError(`Size mismatch for ${file.path}: got ${bytes} bytes, expected ${file.size}`);
  }
  const digest = sha256.digest('hex');
  if (file.sha256 && digest !== file.sha256) {
    throw new ModelPullError(`sha256 mismatch for ${file.path}: got ${digest}, expected ${file.sha256}`);
  }
  if (gitSha1 && file.blobId) {
    const blobId = gitSha1.digest('hex');
    if (blobId !== file.blobId) {
      throw new ModelPullError(`Git blob hash mismatch for ${file.path}: got ${blobId}, expected ${file.blobId}`);
    }
  }
  ctx.log(`${label} ${formatBytes(bytes)} ok`);
  return { path: file.path, bytes, sha256: digest };
}

async function request(ctx: Context, url: string): Promise<Response> {
  const headers: Record<string, string> = { 'user-agent': 'earshot-models-pull' };
  if (ctx.token) headers.authorization = `Bearer ${ctx.token}`;
  try {
    // Redirects (LFS files go to a CDN) are followed; fetch drops Authorization on cross-origin hops.
    return await ctx.fetchImpl(url, { headers, redirect: 'follow', signal: ctx.signal });
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    throw new ModelPullError(`Network error for ${url}: ${describe(err)}`, true, { cause: err });
  }
}

/** Turns a failed Hub response into an error naming the likely cause (see the Hub's X-Error-Code). */
async function httpFailure(res: Response, ctx: Context, file?: string): Promise<ModelPullError> {
  await res.body?.cancel().catch(() => undefined);
  const code = res.headers.get('x-error-code');
  const serverMessage = res.headers.get('x-error-message');

  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    return new ModelPullError(`HTTP ${res.status} from ${res.url}`, true);
  }
  if (code === 'RevisionNotFound') {
    return new ModelPullError(`Revision "${ctx.revision}" not found in ${ctx.repo}`);
  }
  if (code === 'GatedRepo' || res.status === 403) {
    return new ModelPullError(
      `Access to ${ctx.repo} denied (HTTP ${res.status}): it may be gated; accept its terms at ` +
        `${ctx.endpoint}/${ctx.repo} and set HF_TOKEN to a token with read access`,
    );
  }
  if (res.status === 401 && serverMessage === 'Invalid credentials in Authorization header') {
    return new ModelPullError(`HF_TOKEN was rejected by ${ctx.endpoint} (invalid credentials)`);
  }
  if (code === 'RepoNotFound' || res.status === 401 || (res.status === 404 && !file)) {
    // The Hub answers 401 rather than 404 for unknown repos when no token is sent.
    const hint = ctx.token ? 'or HF_TOKEN has no access to it' : 'if it is private, set HF_TOKEN';
    return new ModelPullError(`Repository ${ctx.repo} not found on ${ctx.endpoint} (${hint})`);
  }
  if (res.status === 404 && file) return new ModelPullError(`${file} not found in ${ctx.repo}@${ctx.revision}`);
  return new ModelPullError(
    `HTTP ${res.status} ${res.statusText} from ${res.url}${serverMessage ? `: ${serverMessage}` : ''}`,
  );
}

async function withRetries<T>(ctx: Context, what: string, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const retryable = err instanceof ModelPullError && err.retryable;
      if (!retryable || n >= MAX_ATTEMPTS || ctx.signal?.aborted) throw err;
      const delay = RETRY_BASE_DELAY_MS * 2 ** (n - 1);
      ctx.log(`${what}: ${err.message}; retrying in ${delay / 1000}s (attempt ${n + 1}/${MAX_ATTEMPTS})`);
      await sleep(delay, undefined, { signal: ctx.signal });
    }
  }
}

function progressReporter(ctx: Context, label: string, total: number): (bytes: number) => void {
  let last = Date.now();
  return (bytes) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS || bytes >= total) return;
    last = now;
    const pct = total > 0 ? Math.floor((bytes / total) * 100) : 100;
    ctx.log(`${label} ${formatBytes(bytes)} / ${formatBytes(total)} (${pct}%)`);
  };
}

/** Swaps the verified staging folder in; a previous model is only deleted once the new one is in place. */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  if (!(await pathExists(target))) {
    await rename(staging, target);
    return;
  }
  const previous = `${staging}.previous`;
  await rename(target, previous);
  try {
    await rename(staging, target);
  } catch (err) {
    await rename(previous, target);
    throw err;
  }
  await rm(previous, { recursive: true, force: true });
}

async function hasRequiredFiles(dir: string, layout: Layout): Promise<boolean> {
  const sizes = await Promise.all(
    layout.required.map((p) => stat(path.join(dir, p)).then((s) => (s.isFile() ? s.size : 0), () => 0)),
  );
  return sizes.every((size) => size > 0);
}

async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch reports "fetch failed" and keeps the useful part (ECONNREFUSED, ...) in the cause.
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

function formatBytes(n: number): string {
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}
