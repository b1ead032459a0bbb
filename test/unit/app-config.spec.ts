/** The config tree: its defaults, one boolean reading for every flag, and every bad variable named at once. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/server/infra/config/app-config';

const BOOLEANS = ['WEB_UI', 'METRICS_PUBLIC', 'DOCS_PUBLIC', 'ALLOW_PRIVATE_URLS', 'WEBHOOK_ALLOW_PRIVATE'];

/** Where each boolean variable lands in the tree. */
const flag = (config: ReturnType<typeof loadConfig>, name: string): boolean =>
  ({
    WEB_UI: config.web.enabled,
    METRICS_PUBLIC: config.security.metricsPublic,
    DOCS_PUBLIC: config.security.docsPublic,
    ALLOW_PRIVATE_URLS: config.security.audioUrls.allowPrivate,
    WEBHOOK_ALLOW_PRIVATE: config.jobs.webhook.allowPrivate,
  })[name]!;

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

test('an empty environment gives the documented defaults, grouped by the part of the service that uses them', () => {
  const data = join(process.cwd(), 'data');
  expect(loadConfig({})).toEqual({
    redisUrl: null,
    server: {
      port: 8000,
      host: '0.0.0.0',
      logLevel: 'log',
      uploadDir: join(tmpdir(), 'earshot-uploads'),
      maxUploadBytes: 200 * 1024 * 1024,
      uploadIdleTimeoutMs: 30_000,
      requestTimeoutMs: 900_000,
      streams: { maxStreams: 8, maxFrameBytes: 1024 * 1024, maxBufferedSeconds: 20, idleTimeoutMs: 30_000 },
      speakers: { matchThreshold: 0.63, minSpeechS: 1, dbPath: join(data, 'speakers.sqlite'), dataDir: data },
    },
    engine: {
      device: 'cpu',
      deviceAssignment: 'instance 0 uses cpu (set explicitly)',
      intraOpThreads: 0,
      modelsDir: join(process.cwd(), 'models'),
      modelCache: { maxEntries: 3, maxBytes: 8192 * 1024 * 1024, idleTtlMs: 1_800_000 },
      defaultSttModel: 'whisper-small',
      defaultStreamModel: 'whisper-tiny',
      sttWindows: { shortWindowModels: ['whisper-small'], shortWindowPadS: 10 },
      sttBatchSize: 8,
      sttBatch: { waitMs: 20, maxRequests: 1 },
      diarizationStepS: 2,
      ffmpegPath: 'ffmpeg',
      ffmpegTimeoutMs: 600_000,
      maxAudioSeconds: 14_400,
      admission: { concurrency: 2, batchSlots: 0, maxQueueLength: 32, maxQueueWaitMs: 120_000, maxRssBytes: 0 },
    },
    jobs: {
      dataDir: data,
      dbPath: join(data, 'jobs.sqlite'),
      concurrency: 1,
      maxAttempts: 3,
      ttlMs: 24 * 3600_000,
      cleanupIntervalMs: 300_000,
      webhook: { secret: '', allowPrivate: false, maxAttempts: 5, backoffMs: 1000, timeoutMs: 10_000 },
      role: 'all',
      shutdownTimeoutMs: 30_000,
    },
    security: {
      apiKeys: [],
      apiKeysFile: undefined,
      requestsPerMin: 120,
      audioSecondsPerHour: 0,
      metricsPublic: false,
      docsPublic: true,
      corsOrigins: null,
      audioUrls: { allowPrivate: false, timeoutMs: 60_000, maxRedirects: 3 },
    },
    web: { enabled: true, dashboardSampleMs: 5000 },
  });
});

test('variables land in their group, converted to ms and bytes; an empty variable counts as unset', () => {
  const config = loadConfig({
    REDIS_URL: 'redis://r:6379/2',
    PORT: '9000',
    API_KEYS: ' a , b,,',
    API_KEYS_FILE: '/etc/earshot/keys.json',
    CORS_ORIGINS: 'https://a.example, https://b.example',
    INFERENCE_CONCURRENCY: '4',
    MAX_RSS_MB: '1024',
    MAX_AUDIO_SECONDS: '60',
    STT_SHORT_WINDOW_MODELS: 'none',
    DASHBOARD_SAMPLE_S: '',
  });
  expect(config.redisUrl).toBe('redis://r:6379/2');
  expect(config.server.port).toBe(9000);
  expect(config.security).toMatchObject({
    apiKeys: ['a', 'b'],
    apiKeysFile: '/etc/earshot/keys.json',
    corsOrigins: ['https://a.example', 'https://b.example'],
  });
  expect(config.engine).toMatchObject({
    maxAudioSeconds: 60,
    admission: { concurrency: 4, maxQueueLength: 32, maxQueueWaitMs: 120_000, maxRssBytes: 1024 * 1024 * 1024 },
    sttWindows: { shortWindowModels: [] },
  });
  expect(config.web.dashboardSampleMs).toBe(5000);
  expect(loadConfig({ CORS_ORIGINS: '*' }).security.corsOrigins).toBe('*');
});

test('every boolean reads 1/0, true/false, yes/no, on/off in any case, and nothing else', () => {
  for (const name of BOOLEANS) {
    for (const word of ['1', 'true', 'yes', 'on', 'TRUE', 'Yes', ' On '])
      expect([name, word, flag(loadConfig({ [name]: word }), name)]).toEqual([name, word, true]);
    for (const word of ['0', 'false', 'no', 'off', 'False', 'NO', 'OFF'])
      expect([name, word, flag(loadConfig({ [name]: word }), name)]).toEqual([name, word, false]);
    for (const word of ['maybe', '2', 'enabled', 'y']) {
      expect(failure({ [name]: word })).toContain(`${name}=${JSON.stringify(word)}: ${name} must be 1/0, true/false, yes/no or on/off`);
    }
  }
  // The two URL policies used to read "yes" differently.
  const yes = loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'yes', ALLOW_PRIVATE_URLS: 'yes' });
  expect([yes.jobs.webhook.allowPrivate, yes.security.audioUrls.allowPrivate]).toEqual([true, true]);
});

test('bad values of every group are listed together, one line each, naming the variable and its value', () => {
  const message = failure({
    PORT: '70000', // server
    WS_MAX_STREAMS: '0', // server
    DEVICE: 'tpu', // engine
    MAX_QUEUE_LENGTH: '-1', // engine (admission)
    JOB_TTL_HOURS: 'soon', // jobs
    RATE_LIMIT_PER_MIN: 'lots', // security
    DOCS_PUBLIC: 'perhaps', // security
    DASHBOARD_SAMPLE_S: '600', // web
    ROLE: 'api', // jobs: needs REDIS_URL
  });
  const lines = message.split('\n');
  expect(lines[0]).toBe('invalid configuration:');
  expect(lines.slice(1).map((line) => line.trim().split(':')[0])).toEqual([
    'PORT="70000"',
    'WS_MAX_STREAMS="0"',
    'DEVICE="tpu"',
    'MAX_QUEUE_LENGTH="-1"',
    'JOB_TTL_HOURS="soon"',
    'RATE_LIMIT_PER_MIN="lots"',
    'DOCS_PUBLIC="perhaps"',
    'DASHBOARD_SAMPLE_S="600"',
    'ROLE="api"',
  ]);
  expect(message).toMatch(/ROLE="api": api and worker roles share jobs through Redis; set REDIS_URL/);
  expect(message).toMatch(/DEVICE="tpu": DEVICE must be "cpu", "cuda" or "cuda:N"/);
});
