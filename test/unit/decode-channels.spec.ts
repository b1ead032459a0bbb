/** One channel instead of the mix: the WAV parser and the ffmpeg path (stereo mode of diarization needs both). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, WavFormatError } from '../../libs/audio/wav';
import { decodeAudioFile } from '../../src/engine/core/audio/decode';

/** 16-bit stereo WAV: left = 1000·i, right = −2000·i. */
function stereo(frames: number): Uint8Array {
  const buf = new Uint8Array(44 + frames * 4);
  const v = new DataView(buf.buffer);
  const ascii = (o: number, s: string) => [...s].forEach((c, i) => (buf[o + i] = c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + frames * 4, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 2, true);
  v.setUint32(24, 16000, true);
  v.setUint32(28, 64000, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, frames * 4, true);
  for (let i = 0; i < frames; i++) {
    v.setInt16(44 + 4 * i, 1000 * i, true);
    v.setInt16(46 + 4 * i, -2000 * i, true);
  }
  return buf;
}

test('WAV: the mix, or one channel', () => {
  const wav = stereo(5);
  const int16 = (x: Float32Array) => Array.from(x, (s) => Math.round(s * 32768));
  expect(int16(parseWav(wav).samples)).toEqual([0, -500, -1000, -1500, -2000]);
  expect(int16(parseWav(wav, 0).samples)).toEqual([0, 1000, 2000, 3000, 4000]);
  expect(int16(parseWav(wav, 1).samples)).toEqual([0, -2000, -4000, -6000, -8000]);
  expect(parseWav(wav, 1).channels).toBe(2);
  expect(() => parseWav(wav, 2)).toThrow(WavFormatError);
});

test('ffmpeg path: a stereo FLAC with a tone on the left only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-channels-'));
  const flac = join(dir, 'left.flac');
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=f=440:r=16000:d=1',
    '-f',
    'lavfi',
    '-i',
    'anullsrc=r=16000:cl=mono:d=1',
    '-filter_complex',
    '[0][1]amerge=inputs=2',
    '-ac',
    '2',
    '-t',
    '1',
    flac,
  ]);
  const limits = { maxSeconds: 60, ffmpegTimeoutMs: 30000, ffmpegPath: 'ffmpeg' };
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, s) => a + s * s, 0) / x.length);
  const [mix, left, right] = await Promise.all([decodeAudioFile(flac, limits), decodeAudioFile(flac, limits, 0), decodeAudioFile(flac, limits, 1)]);
  expect(mix.channels).toBe(2);
  expect(rms(left.samples)).toBeGreaterThan(0.05);
  expect(rms(right.samples)).toBeLessThan(1e-4);
  expect(rms(mix.samples)).toBeGreaterThan(0.02);
});
