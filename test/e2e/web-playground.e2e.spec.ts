/**
 * The playground at / in a real browser (Debian's Chromium driven by playwright-core), against the real service with
 * API keys on: the key field, a synchronous run with speakers, a job with its progress bar, playback of a segment,
 * downloads rendered by the service, a voice enrolled from a speaker lane and then named on it, and live mode fed by
 * Chromium's fake microphone playing a DEV clip.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { wordErrors } from '../../libs/text/wer';
import { launchChromium } from '../support/browser';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const KEY = 'playground-test-key';
const JFK = join(TESTDATA, 'stt', 'en', 'jfk.wav');
const TWO_SPEAKERS = join(TESTDATA, 'diarization', 'pyannote_sample.wav');
const JFK_REFERENCE = manifest().find((f) => f.path === 'stt/en/jfk.wav')!.reference;
/** SAVE_SCREENSHOTS=1 refreshes the README's pictures under docs/. */
const SCREENSHOTS = process.env.SAVE_SCREENSHOTS === '1' ? resolve(__dirname, '../../docs') : null;

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ API_KEYS: KEY });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The playground with the key entered, as a user does when the service asks for one. */
async function openWithKey(page: Page): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.locator('#key-form').waitFor({ state: 'visible' });
  await page.fill('#key-form input', KEY);
  await page.click('#key-form button');
  await page.locator('#model option').first().waitFor({ state: 'attached' });
}

async function chooseTasks(page: Page, tasks: string[]): Promise<void> {
  for (const task of ['transcribe', 'diarization', 'emotion']) await page.setChecked(`input[name="task"][value="${task}"]`, tasks.includes(task));
}

test('the page and its files are served by Earshot under a same-origin CSP; the UI folder serves only web files', async () => {
  const page = await fetch(`${server.url}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self';script-src 'self';/);
  const html = await page.text();
  const linked = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]).filter((u) => u !== '/dashboard' && u !== '/docs' && u !== '/');
  expect(linked.length).toBeGreaterThanOrEqual(3);
  for (const path of [...linked, '/ui/vendor/wavesurfer.esm.js', '/ui/js/pcm-worklet.js']) {
    expect([path, (await fetch(`${server.url}${path}`)).status]).toEqual([path, 200]);
  }
  for (const path of ['/ui/tsconfig.json', '/ui/js/worklet-scope.d.ts', '/ui/vendor/wavesurfer.d.ts']) {
    expect([path, (await fetch(`${server.url}${path}`)).status]).toEqual([path, 404]);
  }
});

test('without a key the page says one is needed; with it the models are listed', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.locator('#key-form').waitFor({ state: 'visible' });
  expect(await page.locator('#key-form .key-reason').textContent()).toMatch(/API key/);
  expect(await page.locator('#model option').count()).toBe(0);
  await page.fill('#key-form input', KEY);
  await page.click('#key-form button');
  await page.locator('#model option').first().waitFor({ state: 'attached' });
  expect(await page.locator('#model option').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('whisper-tiny')]));
  await page.close();
});

test('a DEV clip run now: transcript text, a speaker lane, a segment that plays, SRT rendered by the service', async () => {
  const page = await browser.newPage();
  await openWithKey(page);
  await page.setInputFiles('#file', JFK);
  await chooseTasks(page, ['transcribe', 'diarization']);
  await page.selectOption('#language', 'en');
  await page.click('#run');
  await page.locator('#transcript li').first().waitFor({ timeout: 60_000 });

  const text = (await page.locator('#transcript .text').allTextContents()).join(' ');
  const { edits, words } = wordErrors(JFK_REFERENCE, text);
  expect(edits / words).toBeLessThanOrEqual(0.15);
  expect(await page.locator('.speaker-lane').count()).toBeGreaterThanOrEqual(1);
  expect(await page.locator('.speaker-lane .lane-track button').count()).toBeGreaterThanOrEqual(1);
  expect(await page.locator('#result-summary').textContent()).toContain('language en');

  // Choosing a segment plays that stretch of the audio: the segment is marked while the audio plays.
  const second = page.locator('#transcript button').nth(Math.min(1, (await page.locator('#transcript button').count()) - 1));
  await second.click();
  await page.locator('#transcript button.playing').waitFor({ timeout: 10_000 });
  expect(await page.locator('#transcript button.playing').getAttribute('data-start')).toBe(await second.getAttribute('data-start'));

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.downloads button[data-format="srt"]')]);
  expect(download.suggestedFilename()).toBe('jfk.srt');
  const srt = readFileSync(await download.path(), 'utf8');
  expect(srt).toMatch(/^1\r?\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\r?\n\[SPEAKER_00\] /);
  expect(srt.toLowerCase()).toContain('fellow americans');
  await page.close();
});

test("a file that is not audio: the service's message is shown and the page stays usable", async () => {
  const page = await browser.newPage();
  await openWithKey(page);
  await page.setInputFiles('#file', { name: 'notes.wav', mimeType: 'audio/wav', buffer: Buffer.from('these are not the samples you are looking for') });
  await page.click('#run');
  await page.locator('#run-status', { hasText: 'Failed' }).waitFor({ timeout: 30_000 });
  expect(await page.locator('#run-status').textContent()).toMatch(/^Failed: .*(decode|audio)/i);
  expect(await page.locator('#result').isHidden()).toBe(true);
  expect(await page.locator('#run').isEnabled()).toBe(true);
  await page.close();
});

test('a two-speaker clip as a job: the progress bar reaches 100%, then two speaker lanes and emotion badges', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await openWithKey(page);
  await page.setInputFiles('#file', TWO_SPEAKERS);
  await chooseTasks(page, ['transcribe', 'diarization', 'emotion']);
  await page.check('input[name="mode"][value="job"]');
  await page.click('#run');
  await page.locator('#progress').waitFor({ state: 'visible' });
  await page.locator('#transcript li').first().waitFor({ timeout: 90_000 });

  expect(await page.locator('#progress').evaluate((p) => (p as unknown as { value: number }).value)).toBe(100);
  expect(await page.locator('#run-status').textContent()).toMatch(/^Done in/);
  expect(await page.locator('.speaker-lane').count()).toBe(2);
  expect(await page.locator('.emotion-lane .lane-track button').count()).toBeGreaterThan(0);
  const segments = await page.locator('#transcript button').count();
  expect(await page.locator('#transcript .speaker-chip').allTextContents()).toEqual(expect.arrayContaining(['SPEAKER_00', 'SPEAKER_01']));
  expect(await page.locator('#transcript .badge').count()).toBe(segments);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.downloads button[data-format="json"]')]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  expect(saved.result.dia.num_speakers).toBe(2);
  expect(saved.result.segments).toHaveLength(segments);

  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.mouse.move(0, 0);
    await page.locator('#result').screenshot({ path: join(SCREENSHOTS, 'playground.png') });
  }
  await page.close();
});

test('a speaker lane enrolled as a known voice (audio cut in the browser); the next run names that lane', async () => {
  const page = await browser.newPage();
  await openWithKey(page);
  await page.setInputFiles('#file', TWO_SPEAKERS);
  await chooseTasks(page, ['diarization']);
  expect(await page.isChecked('#name-voices')).toBe(true);
  await page.click('#run');
  await page.locator('.speaker-lane').nth(1).waitFor({ timeout: 60_000 });
  const lanes = await page.locator('.speaker-lane .lane-label').allTextContents();
  expect(lanes.map((l) => l.replace(/Enrol$/, ''))).toEqual(['SPEAKER_00', 'SPEAKER_01']);
  const turnsOf = async (label: string) =>
    page
      .locator('.speaker-lane', { has: page.locator('.lane-label', { hasText: label }) })
      .locator('.lane-track button')
      .count();
  const firstTurns = await turnsOf('SPEAKER_00');

  await page.click('.speaker-lane >> nth=0 >> button.enrol');
  expect(await page.locator('#enrol-lane').textContent()).toContain('SPEAKER_00');
  await page.fill('#enrol-name', 'alice');
  await page.click('#enrol-submit');
  await page.locator('#enrol-status', { hasText: /^Enrolled alice from \d+\.\d s of SPEAKER_00's speech/ }).waitFor({ timeout: 60_000 });
  const enrolled = (await (await fetch(`${server.url}/v1/speakers`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
    speakers: Array<{ speech_s: number }>;
  };
  expect(enrolled.speakers).toEqual([expect.objectContaining({ name: 'alice', clips: 1 })]);
  expect(enrolled.speakers[0].speech_s).toBeGreaterThan(3);

  // The same name again is refused by the service, and the page says why.
  await page.click('.speaker-lane >> nth=1 >> button.enrol');
  await page.fill('#enrol-name', 'alice');
  await page.click('#enrol-submit');
  await page.locator('#enrol-status', { hasText: /^Enrolment failed: .*alice/ }).waitFor({ timeout: 60_000 });

  await page.click('#run');
  await page.locator('.speaker-lane .lane-label.named', { hasText: 'alice' }).waitFor({ timeout: 60_000 });
  expect(await page.locator('.speaker-lane .lane-label.named').count()).toBe(1);
  expect(await page.locator('.speaker-lane .lane-label.named').getAttribute('title')).toMatch(/^Enrolled voice \(match 0\.\d+\)$/);
  expect(await turnsOf('alice')).toBe(firstTurns);
  expect(await page.locator('.speaker-lane .lane-label', { hasText: /^SPEAKER_0\dEnrol$/ }).count()).toBe(1);
  await page.close();
});

test("live mode and recording: Chromium's fake microphone plays a DEV clip; finals replace the partials, a recording is transcribed", async () => {
  const live = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${JFK}`]);
  try {
    const page = await live.newPage();
    await openWithKey(page);
    await page.selectOption('#language', 'en');
    await page.click('#live-toggle');
    await page.locator('#live-status', { hasText: 'Listening' }).waitFor({ timeout: 15_000 });
    await page.locator('#live-text .partial', { hasText: /\S/ }).waitFor({ timeout: 30_000 });
    await page.locator('#live-text .finals', { hasText: /country/i }).waitFor({ timeout: 45_000 });
    await page.click('#live-toggle');
    await page.locator('#live-status', { hasText: 'Finished' }).waitFor({ timeout: 20_000 });
    const finals = await page.locator('#live-text .final').allTextContents();
    expect(finals.length).toBeGreaterThan(0);
    expect(await page.locator('#live-text .partial').textContent()).toBe('');
    expect(await page.locator('#live-toggle').getAttribute('aria-pressed')).toBe('false');

    // Recording: MediaRecorder's webm/opus from the same microphone becomes the file to run.
    await page.click('#record');
    await page.waitForTimeout(6_000);
    await page.click('#record');
    await page.locator('#chosen', { hasText: /^recording\.webm/ }).waitFor({ timeout: 10_000 });
    await page.click('#run');
    await page.locator('#transcript li').first().waitFor({ timeout: 60_000 });
    expect((await page.locator('#transcript').textContent())!.toLowerCase()).toMatch(/country|americans|fellow/);
  } finally {
    await live.close();
  }
});
