/**
 * The dashboard page in a real browser (Debian's Chromium through playwright-core) against the real service:
 * it goes live over SSE, its counters move after a real transcription of a DEV clip, a corrupt upload shows under
 * errors by code, it reconnects after a network drop, and with API keys it asks for one and goes live after an
 * admin key. SAVE_SCREENSHOTS=1 saves docs/dashboard.png after some traffic.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const JFK = join(TESTDATA, 'stt/en/jfk.wav');

/** Polls `probe` until it returns something truthy (at most `ms`). */
async function until<T>(what: string, probe: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cardValue = async (page: Page, testId: string) => (await page.getByTestId(testId).locator('.value').textContent())?.trim() ?? '';
const status = (page: Page) => page.getByTestId('live-status').getAttribute('data-state');
const tableRows = (page: Page, testId: string) => page.getByTestId(testId).locator('tbody tr').allTextContents();

describe('open service', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer({ DASHBOARD_SAMPLE_S: '1' }), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${server.url}/dashboard`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('goes live; a real transcription moves the counters, a corrupt upload shows under errors by code', async () => {
    await until('the live status', async () => (await status(page)) === 'live');
    expect(await page.getByTestId('live-status').textContent()).toBe('live');
    expect(await page.locator('#key-form').isHidden()).toBe(true);
    await until('a first sample', async () => (await cardValue(page, 'rss')).endsWith('MB'));
    const requestsBefore = Number(await cardValue(page, 'requests-window'));
    expect(await cardValue(page, 'audio-window')).toBe('0.0 s');
    // The inference worker answers cache reads between model runs: a busy one (the warm-up) leaves samples without it.
    await until('the model cache', async () => (await tableRows(page, 'models')).length > 0);
    expect(await tableRows(page, 'models')).toEqual([expect.stringMatching(/^whisper-tiny/)]);

    const ok = await postProcess(server.url, JFK);
    expect(ok.status).toBe(200);
    await until('the transcription on the dashboard', async () => (await cardValue(page, 'audio-window')) === '11.0 s');
    expect(Number(await cardValue(page, 'requests-window'))).toBe(requestsBefore + 1);
    expect(Number(await cardValue(page, 'throughput'))).toBeGreaterThan(0);
    const p50 = Number((await cardValue(page, 'latency-p50')).replace(/[^\d.]/g, ''));
    const p95 = Number((await cardValue(page, 'latency-p95')).replace(/[^\d.]/g, ''));
    expect(p50).toBeGreaterThan(0);
    expect(p95).toBeGreaterThanOrEqual(p50);

    expect(await page.locator('.empty-note[data-for="errors"]').isVisible()).toBe(true);
    const bad = await postProcess(server.url, new TextEncoder().encode('this is not audio'), undefined, 'noise.wav');
    expect(bad.status).toBe(415);
    await until('the error by code', async () => (await tableRows(page, 'errors')).includes('unsupported_audio1'));
    expect(await cardValue(page, 'errors-window')).toBe('1');
    expect(await page.locator('.empty-note[data-for="errors"]').isHidden()).toBe(true);

    // Eight charts, each drawn by uPlot, sized to its container.
    const charts = page.locator('[data-testid^="chart-"]');
    expect(await charts.count()).toBe(8);
    const sizes = await page.$$eval('[data-testid^="chart-"]', (figures) =>
      figures.map((f) => ({ box: f.querySelector('.plot')!.clientWidth, canvas: f.querySelector('canvas')?.getBoundingClientRect().width ?? 0 })),
    );
    for (const { box, canvas } of sizes) expect(Math.abs(box - canvas)).toBeLessThan(2);
    expect(pageErrors).toEqual([]);
  });

  test('a phone-sized window: charts shrink to the screen, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await until('resized charts', async () => {
      const widths = await page.$$eval('[data-testid^="chart-"] canvas', (canvases) => canvases.map((c) => c.getBoundingClientRect().width));
      return widths.every((w) => w > 200 && w < 390);
    });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('shows "reconnecting" when the connection drops, and goes live again', async () => {
    await page.context().setOffline(true);
    server.app.getHttpServer().closeAllConnections();
    await until('the reconnecting status', async () => (await status(page)) === 'reconnecting', 20_000);
    await page.context().setOffline(false);
    await until('live again', async () => (await status(page)) === 'live', 20_000);
  });

  (process.env.SAVE_SCREENSHOTS === '1' ? test : test.skip)('screenshot after some traffic: docs/dashboard.png', async () => {
    const clips = ['stt/en/librispeech_1089-134686-0001.wav', 'stt/en/ljspeech_LJ001-0001.wav', 'emotion/ravdess/03-01-03-02-01-01-01.wav'];
    for (const clip of clips) {
      await postProcess(server.url, join(TESTDATA, clip));
      await new Promise((r) => setTimeout(r, 1500));
    }
    await postProcess(server.url, join(TESTDATA, 'diarization/pyannote_sample.wav'), { settings: { tasks: ['transcribe', 'diarization', 'emotion'] } });
    await postProcess(server.url, new Uint8Array(0), undefined, 'empty.wav');
    await fetch(`${server.url}/v1/jobs/no-such-job`);
    // A background job, to be running when the picture is taken.
    const form = new FormData();
    form.append('audio', new Blob([readFileSync(join(TESTDATA, 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav'))]), 'long.wav');
    form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe', 'diarization'] }, async_process: true }));
    const job = (await (await fetch(`${server.url}/v1/process`, { method: 'POST', body: form })).json()) as { job_id: string };
    await until('a running job under way', async () => (await tableRows(page, 'running-jobs')).some((row) => !row.includes(' 0 %')), 60_000);
    mkdirSync(resolve(__dirname, '../../docs'), { recursive: true });
    await page.screenshot({ path: resolve(__dirname, '../../docs/dashboard.png'), fullPage: true });
    await fetch(`${server.url}/v1/jobs/${job.job_id}`, { method: 'DELETE' });
  });
});

describe('with API keys', () => {
  const ADMIN = 'admin-key-0123456789';
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer({ DASHBOARD_SAMPLE_S: '1', API_KEYS: ADMIN }), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('asks for a key, refuses a wrong one, and goes live after an admin key', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    const keyInput = page.locator('#key-form input[name="key"]');
    await keyInput.waitFor({ state: 'visible' });
    expect(await status(page)).toBe('key');
    expect(await page.locator('#key-form .key-reason').textContent()).toMatch(/API key is required/);

    await keyInput.fill('wrong-key-000000');
    await page.keyboard.press('Enter');
    await until('the refusal', async () => /invalid API key/.test((await page.locator('#key-form .key-reason').textContent()) ?? ''));

    await keyInput.fill(ADMIN);
    await page.getByRole('button', { name: 'Use key' }).click();
    await until('the live status', async () => (await status(page)) === 'live');
    await until('a sample', async () => (await cardValue(page, 'rss')).endsWith('MB'));
    expect(await page.locator('#key-form .key-reason').textContent()).toBe('');
  });
});
