/**
 * The OpenAI audio API, called with the official `openai` npm client pointed at the real service (real
 * whisper-tiny, real speech from ../shared/testdata): every response format, translations, models, errors.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { parseSync, type NodeCue } from 'subtitle';
import { wordErrors } from '../../libs/text/wer';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const stt = manifest().filter((f) => f.task === 'stt');
const JFK = stt.find((f) => f.path === 'stt/en/jfk.wav')!;
const LONG_CLIP = stt.find((f) => f.path.startsWith('stt/long/'))!;
const GERMAN = stt.find((f) => f.language === 'de')!;

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'any-key', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

const file = (clip: { path: string }) => createReadStream(join(TESTDATA, clip.path));

interface VerboseSegment {
  id: number;
  start: number;
  end: number;
  text: string;
  avg_logprob: number;
  no_speech_prob: number;
}
interface VerboseWord {
  word: string;
  start: number;
  end: number;
}

test('json: whisper-1 is the default model and the text matches the reference', async () => {
  const res = await client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-1', language: 'en' });
  expect(Object.keys(res)).toEqual(['text']);
  const { edits, words } = wordErrors(JFK.reference, res.text);
  expect(edits / words).toBeLessThanOrEqual(0.1);
});

test('text: the same transcript as plain text', async () => {
  const [json, text] = await Promise.all([
    client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-1', language: 'en' }),
    client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-1', language: 'en', response_format: 'text' }),
  ]);
  expect(typeof text).toBe('string');
  expect(text.trim()).toBe(json.text.trim());
});

describe('long clip: verbose_json segments and words, and SRT/VTT cues that match them', () => {
  let verbose: { task: string; language: string; duration: number; text: string; segments: VerboseSegment[]; words: VerboseWord[] };

  beforeAll(async () => {
    verbose = (await client.audio.transcriptions.create({
      file: file(LONG_CLIP),
      model: 'whisper-1',
      language: 'en',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    })) as unknown as typeof verbose;
  });

  test('verbose_json has OpenAI fields, ordered segments, and words inside them', () => {
    expect(verbose).toMatchObject({ task: 'transcribe', language: 'english', duration: expect.closeTo(LONG_CLIP.duration_s, 0) });
    expect(verbose.segments.length).toBeGreaterThan(3);
    verbose.segments.forEach((s, i) => {
      expect(s).toMatchObject({ id: i, text: expect.any(String), avg_logprob: expect.any(Number), no_speech_prob: expect.any(Number) });
      expect(s.end).toBeGreaterThan(s.start);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(verbose.segments[i - 1].start);
    });
    expect(
      verbose.segments
        .map((s) => s.text.trim())
        .join(' ')
        .replace(/\s+/g, ' '),
    ).toBe(verbose.text.trim().replace(/\s+/g, ' '));
    const { edits, words } = wordErrors(LONG_CLIP.reference, verbose.text);
    expect(edits / words).toBeLessThanOrEqual(0.15);

    expect(verbose.words.length).toBeGreaterThan(100);
    expect(
      verbose.words
        .map((w) => w.word)
        .join(' ')
        .split(/\s+/).length,
    ).toBeGreaterThan(100);
    for (let i = 1; i < verbose.words.length; i++) expect(verbose.words[i].start).toBeGreaterThanOrEqual(verbose.words[i - 1].start);
    for (const w of verbose.words) {
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.start).toBeGreaterThanOrEqual(verbose.segments[0].start - 0.01);
      expect(w.end).toBeLessThanOrEqual(verbose.duration + 0.01);
    }
  });

  test('verbose_json with segment granularity only carries no words', async () => {
    const res = (await client.audio.transcriptions.create({
      file: file(JFK),
      model: 'whisper-1',
      language: 'en',
      response_format: 'verbose_json',
    })) as unknown as Record<string, unknown>;
    expect(Array.isArray(res.segments)).toBe(true);
    expect(res.words).toBeUndefined();
  });

  test.each(['srt', 'vtt'] as const)('%s parses back into one cue per segment, in order, without overlaps, at the segment times', async (format) => {
    const body = await client.audio.transcriptions.create({ file: file(LONG_CLIP), model: 'whisper-1', language: 'en', response_format: format });
    expect(typeof body).toBe('string');
    if (format === 'vtt') expect(body.startsWith('WEBVTT')).toBe(true);
    const cues = parseSync(body)
      .filter((n): n is NodeCue => n.type === 'cue')
      .map((n) => n.data);
    expect(cues).toHaveLength(verbose.segments.length);
    cues.forEach((cue, i) => {
      const segment = verbose.segments[i];
      expect(cue.text.trim()).toBe(segment.text.trim());
      expect(cue.start).toBe(Math.round(segment.start * 1000));
      expect(cue.end).toBeGreaterThan(cue.start);
      // A cue ends at its segment's end, or earlier where the next segment starts first.
      expect(cue.end).toBeLessThanOrEqual(Math.round(segment.end * 1000));
      if (i + 1 < cues.length) expect(cue.end).toBeLessThanOrEqual(cues[i + 1].start);
      else expect(cue.end).toBe(Math.round(segment.end * 1000));
    });
  });
});

// whisper-tiny translates these short clips so poorly that every window falls back to sampling (slow, and not
// repeatable); whisper-base translates the German clip at temperature 0.
test('translations: German speech comes back as English text', async () => {
  const res = (await client.audio.translations.create({ file: file(GERMAN), model: 'whisper-base', response_format: 'verbose_json' })) as unknown as {
    task: string;
    language: string;
    text: string;
    segments: VerboseSegment[];
  };
  expect(res).toMatchObject({ task: 'translate', language: 'german' });
  expect(res.segments.length).toBeGreaterThan(0);
  expect(res.text).toMatch(/\b(the|a|an|is|of)\b/i);
  expect(res.text).not.toMatch(/\b(die|der|das|einen|ist)\b/i);
  const text = (await client.audio.translations.create({ file: file(GERMAN), model: 'whisper-base', response_format: 'text' })) as unknown as string;
  expect(text.trim()).toBe(res.text.trim());
}, 400_000);

test('an Earshot model name is accepted in place of whisper-1', async () => {
  const res = await client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-tiny', language: 'en', prompt: 'Kennedy, inaugural address.' });
  expect(res.text).toMatch(/fellow Americans/);
});

test('models.list() reads /v1/models, which also carries the Earshot fields', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['whisper-tiny', 'whisper-base']));
  const tiny = models.find((m) => m.id === 'whisper-tiny') as unknown as Record<string, unknown>;
  expect(tiny).toMatchObject({ object: 'model', owned_by: 'earshot', created: expect.any(Number), kind: 'stt', loaded: true });
});

test('diarize and emotion flags add speakers and emotions to verbose_json', async () => {
  const data = await client.audio.transcriptions.create({
    file: file(JFK),
    model: 'whisper-1',
    language: 'en',
    response_format: 'verbose_json',
    diarize: true,
    emotion: 'true',
  } as never);
  const body = data as unknown as {
    text: string;
    dia: { num_speakers: number };
    emo: { file: { label: string } };
    merged_segments: Array<{ speaker: string; emotion: string }>;
  };
  expect(body.text).toMatch(/fellow Americans/);
  expect(body.dia.num_speakers).toBe(1);
  expect(typeof body.emo.file.label).toBe('string');
  expect(body.merged_segments.length).toBeGreaterThan(0);
  for (const s of body.merged_segments) expect(s).toMatchObject({ speaker: 'SPEAKER_00', emotion: expect.any(String) });
});

describe("errors come in OpenAI's shape", () => {
  async function rawError(form: FormData, route = 'transcriptions') {
    const res = await fetch(`${server.url}/v1/audio/${route}`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
  }

  test('unknown model → 404 NotFoundError with code model_not_found', async () => {
    const err = await client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-enormous' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const apiError = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(apiError.status).toBe(404);
    expect(apiError.code).toBe('model_not_found');
    expect(apiError.type).toBe('invalid_request_error');
    expect(apiError.message).toMatch(/whisper-enormous/);
  });

  test('audio that is not audio → 415 unsupported_audio', async () => {
    const err = await client.audio.transcriptions
      .create({ file: await toFile(Buffer.from('this is not audio at all'), 'notes.mp3'), model: 'whisper-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(415);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('unsupported_audio');
  });

  test('bad fields → 400 BadRequestError', async () => {
    const bad = [
      { response_format: 'docx' },
      { temperature: 7 },
      { response_format: 'json', timestamp_granularities: ['word'] },
      { response_format: 'verbose_json', timestamp_granularities: ['sentence'] },
    ];
    for (const fields of bad) {
      const err = await client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-1', ...fields } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_request');
    }
  });

  test('no file, the wrong file field, not multipart → 400 with type, code and message', async () => {
    const noFile = new FormData();
    noFile.append('model', 'whisper-1');
    const wrongField = new FormData();
    wrongField.append('audio', new Blob([readFileSync(join(TESTDATA, JFK.path))]), 'jfk.wav');
    for (const form of [noFile, wrongField]) {
      const { status, body } = await rawError(form, 'translations');
      expect(status).toBe(400);
      expect(body.error).toEqual({ message: expect.stringMatching(/"file"/), type: 'invalid_request_error', param: null, code: 'invalid_request' });
    }
    const json = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: Record<string, unknown> }).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
  });

  test('the service keeps serving after the errors', async () => {
    const res = await client.audio.transcriptions.create({ file: file(JFK), model: 'whisper-1', language: 'en' });
    expect(res.text).toMatch(/ask not what your country can do for you/i);
  });
});

test('the OpenAPI spec documents the OpenAI routes', async () => {
  const spec = (await (await fetch(`${server.url}/docs-json`)).json()) as { paths: Record<string, { post?: { requestBody?: unknown } }> };
  for (const path of ['/v1/audio/transcriptions', '/v1/audio/translations']) {
    expect(JSON.stringify(spec.paths[path]?.post?.requestBody)).toMatch(/response_format/);
  }
});
