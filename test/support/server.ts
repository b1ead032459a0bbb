import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/server/app';
import { loadConfig } from '../../src/server/infra/config/app-config';

export const TESTDATA = resolve(__dirname, '../../../shared/testdata');
export const SHARED_MODELS = resolve(__dirname, '../../../shared/models');

export interface ManifestEntry {
  path: string;
  task: 'stt' | 'diarization' | 'emotion';
  language: string;
  reference: string;
  duration_s: number;
  format?: string;
  same_content_as?: string;
  /** Long-form clips: the utterances with their times. */
  segments?: Array<{ id: string; start_s: number; end_s: number; text: string }>;
}

export function manifest(): ManifestEntry[] {
  return (JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: ManifestEntry[] }).files;
}

export interface TestServer {
  url: string;
  app: NestFastifyApplication;
  close(): Promise<void>;
}

/** The files' default model of test servers: the fastest. Suites about the shipped default pass DEFAULT_STT_MODEL: undefined. */
export const TEST_STT_MODEL = 'whisper-tiny';

/**
 * Starts Earshot on a random port with the given environment, and waits until /ready says so. A variable given as
 * undefined is left out, so the service's own default applies.
 */
export async function startServer(env: Record<string, string | undefined> = {}): Promise<TestServer> {
  const config = loadConfig({
    MODELS_DIR: SHARED_MODELS,
    UPLOAD_DIR: mkdtempSync(join(tmpdir(), 'earshot-test-uploads-')),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'earshot-test-data-')),
    LOG_LEVEL: 'warn',
    // Suites send bursts from one address; the suites about limits set their own.
    RATE_LIMIT_PER_MIN: '0',
    DEFAULT_STT_MODEL: TEST_STT_MODEL,
    ...env,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${url}/ready`);
    if (res.ok) break;
    if (Date.now() > deadline) throw new Error(`server not ready: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, app, close: () => app.close() };
}

export interface ProcessCall {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

/** POST /v1/process with a file (path or bytes) and an optional request_json. */
export async function postProcess(url: string, audio: string | Uint8Array | null, requestJson?: unknown, filename = 'audio'): Promise<ProcessCall> {
  const form = new FormData();
  if (audio !== null) {
    const bytes = typeof audio === 'string' ? readFileSync(audio) : audio;
    form.append('audio', new Blob([bytes]), typeof audio === 'string' ? audio.split('/').pop() : filename);
  }
  if (requestJson !== undefined) form.append('request_json', typeof requestJson === 'string' ? requestJson : JSON.stringify(requestJson));
  const res = await fetch(`${url}/v1/process`, { method: 'POST', body: form });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json: jsonOrNull(text) };
}

/** A response body parsed as JSON, or null when it is not JSON. */
export function jsonOrNull(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

/** A TCP port that was free a moment ago, for a child process to listen on. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
