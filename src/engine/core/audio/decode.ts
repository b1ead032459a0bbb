import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { isWav, parseWav, WavFormatError } from '../../../../libs/audio/wav';
import { resample } from '../../../../libs/audio/resample';
import { EarshotError } from '../../../contract/errors';

export const TARGET_SAMPLE_RATE = 16000;

export interface DecodedAudio {
  /** 16 kHz mono float32. */
  samples: Float32Array;
  /** Of the source, before resampling and downmixing. */
  sampleRate: number;
  channels: number;
  durationS: number;
}

export interface DecodeLimits {
  maxSeconds: number;
  ffmpegTimeoutMs: number;
  ffmpegPath: string;
}

/**
 * Any audio file on disk → 16 kHz mono float32. WAV is parsed in-process; everything else goes through ffmpeg,
 * restricted to reading the local file, and stopped as soon as it produces more audio than the limit allows.
 * `channel` (0-based) takes that channel alone instead of the mix of all.
 */
export async function decodeAudioFile(path: string, limits: DecodeLimits, channel?: number): Promise<DecodedAudio> {
  const head = await readHead(path, 12);
  if (head.length === 0) throw new EarshotError('unsupported_audio', 'the audio file is empty');
  if (isWav(head)) return decodeWav(await readFile(path), limits, channel);
  return decodeWithFfmpeg(path, limits, channel);
}

async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function decodeWav(buf: Uint8Array, limits: DecodeLimits, channel?: number): DecodedAudio {
  let pcm;
  try {
    pcm = parseWav(buf, channel);
  } catch (err) {
    if (err instanceof WavFormatError) throw new EarshotError('unsupported_audio', `invalid WAV file: ${err.message}`);
    throw err;
  }
  const durationS = pcm.samples.length / pcm.sampleRate;
  checkDuration(durationS, limits);
  return {
    samples: resample(pcm.samples, pcm.sampleRate, TARGET_SAMPLE_RATE),
    sampleRate: pcm.sampleRate,
    channels: pcm.channels,
    durationS,
  };
}

function checkDuration(seconds: number, limits: DecodeLimits): void {
  if (seconds > limits.maxSeconds) {
    throw new EarshotError('audio_too_long', `audio is longer than the limit of ${limits.maxSeconds} s (MAX_AUDIO_SECONDS)`);
  }
}

const STREAM_INFO = /Audio: [^,]+, (\d+) Hz, ([^,]+)/;

function channelCount(layout: string): number {
  if (layout.startsWith('mono')) return 1;
  if (layout.startsWith('stereo')) return 2;
  const n = /(\d+)(?:\.(\d+))? channels/.exec(layout) ?? /^(\d+)\.(\d+)/.exec(layout);
  return n ? Number(n[1]) + Number(n[2] ?? 0) : 1;
}

function decodeWithFfmpeg(path: string, limits: DecodeLimits, channel?: number): Promise<DecodedAudio> {
  const maxBytes = Math.ceil(limits.maxSeconds * TARGET_SAMPLE_RATE) * 4 + 4;
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'info',
    '-protocol_whitelist',
    'file,pipe',
    '-i',
    path,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    ...(channel === undefined ? ['-ac', '1'] : ['-af', `pan=mono|c0=c${channel}`]),
    '-ar',
    String(TARGET_SAMPLE_RATE),
    '-f',
    'f32le',
    'pipe:1',
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(limits.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failure: EarshotError | null = null;
    const stop = (err: EarshotError): void => {
      failure ??= err;
      proc.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(new EarshotError('unsupported_audio', `decoding took longer than ${limits.ffmpegTimeoutMs} ms`)),
      limits.ffmpegTimeoutMs,
    );
    proc.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        stop(new EarshotError('audio_too_long', `audio is longer than the limit of ${limits.maxSeconds} s (MAX_AUDIO_SECONDS)`));
        return;
      }
      chunks.push(chunk);
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(new EarshotError('internal', `cannot run ffmpeg (${limits.ffmpegPath}): ${err.message}`));
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) {
        const reason = stderr
          .split('\n')
          .filter((l) => /error|invalid|could not|no such|does not contain/i.test(l))
          .pop();
        return reject(new EarshotError('unsupported_audio', `the audio could not be decoded${reason ? `: ${reason.trim()}` : ''}`));
      }
      const info = STREAM_INFO.exec(stderr);
      const all = Buffer.concat(chunks, bytes);
      // Copy into an aligned buffer: Buffer pooling may hand back an unaligned offset.
      const samples = new Float32Array(Math.floor(all.length / 4));
      new Uint8Array(samples.buffer).set(all.subarray(0, samples.length * 4));
      resolve({
        samples,
        sampleRate: info ? Number(info[1]) : TARGET_SAMPLE_RATE,
        channels: info ? channelCount(info[2]) : 1,
        durationS: samples.length / TARGET_SAMPLE_RATE,
      });
    });
  });
}
