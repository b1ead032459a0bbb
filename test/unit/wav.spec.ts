import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeWavPcm16, isWav, parseWav, WavFormatError } from '../../libs/audio/wav';

const JFK = '/work/shared/testdata/stt/en/jfk.wav';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-wav-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** ffmpeg's own decoding of `file` as mono float32 (no resampling). */
function ffmpegDecode(file: string): Float32Array {
  const raw = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-ac', '1', '-f', 'f32le', '-'], {
    maxBuffer: 1 << 28,
  });
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** Writes `args` applied to jfk.wav into a temp WAV and returns its bytes. */
function ffmpegVariant(name: string, args: string[]): { file: string; bytes: Uint8Array } {
  const file = path.join(tmp, name);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, ...args, file]);
  return { file, bytes: new Uint8Array(fs.readFileSync(file)) };
}

function maxAbsDiff(a: Float32Array, b: Float32Array, scaleB = 1): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i] * scaleB));
  return d;
}

function formatTag(wav: Uint8Array): number {
  const view = new DataView(wav.buffer, wav.byteOffset);
  return view.getUint16(20, true);
}

// Hand-built files for layouts ffmpeg does not write.
function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}
function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function chunk(id: string, body: number[], declaredSize = body.length): number[] {
  return [...ascii(id), ...u32(declaredSize), ...body, ...(body.length % 2 ? [0] : [])];
}
function fmt(tag: number, channels: number, rate: number, bits: number, blockAlign = channels * Math.ceil(bits / 8)): number[] {
  return [...u16(tag), ...u16(channels), ...u32(rate), ...u32(rate * blockAlign), ...u16(blockAlign), ...u16(bits)];
}
function extensibleFmt(
  subTag: number,
  channels: number,
  rate: number,
  bits: number,
  guidTail = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71],
): number[] {
  return [...fmt(0xfffe, channels, rate, bits), ...u16(22), ...u16(bits), ...u32(0), ...u16(subTag), ...u16(0), ...guidTail];
}
function riff(chunks: number[][], magic = 'RIFF', riffSize?: number): Uint8Array {
  const body = chunks.flat();
  return Uint8Array.from([...ascii(magic), ...u32(riffSize ?? body.length + 4), ...ascii('WAVE'), ...body]);
}
function int16Bytes(values: number[]): number[] {
  return values.flatMap((v) => u16(v & 0xffff));
}

describe('isWav', () => {
  it('recognises RIFF/WAVE and RF64 headers only', () => {
    expect(isWav(new Uint8Array(fs.readFileSync(JFK)))).toBe(true);
    expect(isWav(riff([], 'RF64'))).toBe(true);
    expect(isWav(Uint8Array.from(ascii('RIFF\0\0\0\0AVI ')))).toBe(false);
    expect(isWav(Uint8Array.from(ascii('ID3\x04\0\0\0\0\0\0\0\0\0')))).toBe(false);
    expect(isWav(new Uint8Array(0))).toBe(false);
  });
});

describe('parseWav on real audio', () => {
  it('decodes the 16-bit test file exactly like ffmpeg', () => {
    const bytes = new Uint8Array(fs.readFileSync(JFK));
    const pcm = parseWav(bytes);
    expect(pcm.sampleRate).toBe(16000);
    expect(pcm.channels).toBe(1);
    expect(pcm.samples.length).toBe(176000);
    expect(maxAbsDiff(pcm.samples, ffmpegDecode(JFK))).toBe(0);
  });

  it('works on a Buffer slice at an odd byte offset', () => {
    const file = fs.readFileSync(JFK);
    const padded = Buffer.alloc(file.length + 1);
    file.copy(padded, 1);
    const view = padded.subarray(1);
    expect(maxAbsDiff(parseWav(view).samples, parseWav(new Uint8Array(file)).samples)).toBe(0);
  });

  const original = () => parseWav(new Uint8Array(fs.readFileSync(JFK))).samples;

  // [codec args, expected WAVE format tag, max error vs the 16-bit original]
  const variants: [string, string[], number, number][] = [
    ['u8', ['-c:a', 'pcm_u8'], 0x0001, 1 / 128],
    ['s24', ['-c:a', 'pcm_s24le'], 0xfffe, 0],
    ['s32', ['-c:a', 'pcm_s32le'], 0xfffe, 0],
    ['f32', ['-c:a', 'pcm_f32le'], 0xfffe, 0],
    ['f64', ['-c:a', 'pcm_f64le'], 0xfffe, 0],
    ['alaw', ['-c:a', 'pcm_alaw'], 0x0006, 0.016],
    ['mulaw', ['-c:a', 'pcm_mulaw'], 0x0007, 0.016],
  ];
  it.each(variants)('decodes %s like ffmpeg and close to the original', (name, args, tag, tolerance) => {
    const { file, bytes } = ffmpegVariant(`${name}.wav`, args);
    expect(formatTag(bytes)).toBe(tag);
    const pcm = parseWav(bytes);
    expect(pcm.sampleRate).toBe(16000);
    expect(pcm.channels).toBe(1);
    expect(maxAbsDiff(pcm.samples, ffmpegDecode(file))).toBeLessThan(1e-7);
    expect(maxAbsDiff(pcm.samples, original())).toBeLessThanOrEqual(tolerance);
  });

  it('averages stereo channels to mono', () => {
    const { bytes } = ffmpegVariant('stereo.wav', ['-af', 'pan=stereo|c0=c0|c1=0.5*c0', '-c:a', 'pcm_f32le']);
    const pcm = parseWav(bytes);
    expect(pcm.channels).toBe(2);
    // ffmpeg's pan rounds its 0.5 gain at 16-bit precision.
    expect(maxAbsDiff(pcm.samples, original(), 0.75)).toBeLessThanOrEqual(1 / 65536);
  });

  it('averages a 3-channel 24-bit extensible file', () => {
    const { bytes } = ffmpegVariant('3ch.wav', ['-af', 'pan=3c|c0=c0|c1=-1*c0|c2=c0', '-c:a', 'pcm_s24le']);
    expect(formatTag(bytes)).toBe(0xfffe);
    const pcm = parseWav(bytes);
    expect(pcm.channels).toBe(3);
    expect(maxAbsDiff(pcm.samples, original(), 1 / 3)).toBeLessThan(1e-6);
  });

  it('reports the stored sample rate', () => {
    const { bytes } = ffmpegVariant('44k.wav', ['-ar', '44100', '-c:a', 'pcm_s16le']);
    const pcm = parseWav(bytes);
    expect(pcm.sampleRate).toBe(44100);
    expect(Math.abs(pcm.samples.length - 176000 * (44100 / 16000))).toBeLessThan(2);
  });

  it('decodes a truncated file up to its last whole frame', () => {
    const bytes = new Uint8Array(fs.readFileSync(JFK));
    const cut = bytes.subarray(0, 44 + 1001);
    const pcm = parseWav(cut);
    expect(pcm.samples.length).toBe(500);
    expect(maxAbsDiff(pcm.samples, original().subarray(0, 500))).toBe(0);
  });
});

describe('parseWav on hand-built layouts', () => {
  const samples = [0, 16384, -16384, 32767, -32768, 1];
  const expected = Float32Array.from(samples, (v) => v / 32768);

  it('skips unknown and odd-sized chunks (with their pad byte), in any order', () => {
    const wav = riff([chunk('JUNK', [1, 2, 3]), chunk('data', int16Bytes(samples)), chunk('LIST', [9]), chunk('fmt ', fmt(1, 1, 8000, 16))]);
    const pcm = parseWav(wav);
    expect(pcm.sampleRate).toBe(8000);
    expect(Array.from(pcm.samples)).toEqual(Array.from(expected));
  });

  it('reads plain (non-extensible) 24-bit and float formats', () => {
    const s24 = samples.flatMap((v) => u32((v * 256) & 0xffffff).slice(0, 3));
    expect(Array.from(parseWav(riff([chunk('fmt ', fmt(1, 1, 16000, 24)), chunk('data', s24)])).samples)).toEqual(Array.from(expected));
    const f32 = new Uint8Array(Float32Array.from(expected).buffer);
    expect(Array.from(parseWav(riff([chunk('fmt ', fmt(3, 1, 16000, 32)), chunk('data', Array.from(f32))])).samples)).toEqual(Array.from(expected));
    const f64 = new Uint8Array(Float64Array.from(expected).buffer);
    expect(Array.from(parseWav(riff([chunk('fmt ', fmt(3, 1, 16000, 64)), chunk('data', Array.from(f64))])).samples)).toEqual(Array.from(expected));
  });

  it('reads WAVE_FORMAT_EXTENSIBLE with a PCM sub-format', () => {
    const wav = riff([chunk('fmt ', extensibleFmt(1, 1, 16000, 16)), chunk('data', int16Bytes(samples))]);
    expect(Array.from(parseWav(wav).samples)).toEqual(Array.from(expected));
  });

  it('reads streaming-style files whose data size is 0xFFFFFFFF', () => {
    const wav = riff([chunk('fmt ', fmt(1, 1, 16000, 16)), chunk('data', int16Bytes(samples), 0xffffffff)], 'RIFF', 0xffffffff);
    expect(Array.from(parseWav(wav).samples)).toEqual(Array.from(expected));
  });

  it('reads RF64 with the data size in ds64', () => {
    const data = int16Bytes(samples);
    const ds64 = [...u32(0), ...u32(0), ...u32(data.length), ...u32(0), ...u32(samples.length), ...u32(0), ...u32(0)];
    const wav = riff([chunk('ds64', ds64), chunk('fmt ', fmt(1, 1, 16000, 16)), chunk('data', data, 0xffffffff), chunk('LIST', [1, 2])], 'RF64', 0xffffffff);
    expect(Array.from(parseWav(wav).samples)).toEqual(Array.from(expected));
  });

  it('accepts an empty data chunk', () => {
    const pcm = parseWav(riff([chunk('fmt ', fmt(1, 2, 16000, 16)), chunk('data', [])]));
    expect(pcm.samples.length).toBe(0);
    expect(pcm.channels).toBe(2);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['an empty buffer', new Uint8Array(0), /not a RIFF\/WAVE/],
    ['an MP3 header', Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /not a RIFF\/WAVE/],
    ['a header without chunks', riff([]), /missing fmt/],
    ['no data chunk', riff([chunk('fmt ', fmt(1, 1, 16000, 16))]), /missing data/],
    ['no fmt chunk', riff([chunk('data', int16Bytes(samples))]), /missing fmt/],
    ['a short fmt chunk', riff([chunk('fmt ', fmt(1, 1, 16000, 16).slice(0, 14)), chunk('data', [])]), /fmt chunk too short/],
    ['a truncated fmt chunk', riff([chunk('fmt ', fmt(1, 1, 16000, 16))]).subarray(0, 30), /fmt chunk truncated/],
    ['MS ADPCM', riff([chunk('fmt ', fmt(2, 1, 16000, 4, 256)), chunk('data', [0, 0])]), /unsupported WAV codec 0x0002/],
    ['16-bit float', riff([chunk('fmt ', fmt(3, 1, 16000, 16)), chunk('data', [0, 0])]), /unsupported WAV codec 0x0003 with 16 bits/],
    ['zero channels', riff([chunk('fmt ', fmt(1, 0, 16000, 16, 2)), chunk('data', [0, 0])]), /zero channels/],
    ['a bad block align', riff([chunk('fmt ', fmt(1, 2, 16000, 16, 3)), chunk('data', [0, 0, 0])]), /bad block align 3/],
    ['an unknown extensible GUID', riff([chunk('fmt ', extensibleFmt(1, 1, 16000, 16, new Array(12).fill(7))), chunk('data', [0, 0])]), /sub-format GUID/],
  ];
  it.each(bad)('throws WavFormatError on %s', (_name, bytes, message) => {
    expect(() => parseWav(bytes)).toThrow(WavFormatError);
    expect(() => parseWav(bytes)).toThrow(message);
  });
});

describe('encodeWavPcm16', () => {
  it('round-trips through parseWav within half a quantisation step and clips', () => {
    const x = Float32Array.from({ length: 4001 }, (_, i) => Math.sin(i * 0.37) * 0.9);
    x[0] = 1.5;
    x[1] = -2;
    const wav = encodeWavPcm16(x, 22050);
    expect(wav.length).toBe(44 + 2 * x.length);
    const pcm = parseWav(wav);
    expect(pcm.sampleRate).toBe(22050);
    expect(pcm.channels).toBe(1);
    expect(pcm.samples[0]).toBeCloseTo(32767 / 32768, 6);
    expect(pcm.samples[1]).toBe(-1);
    let d = 0;
    for (let i = 2; i < x.length; i++) d = Math.max(d, Math.abs(pcm.samples[i] - x[i]));
    expect(d).toBeLessThanOrEqual(0.5 / 32768 + 1e-9);
  });

  it('writes a file ffmpeg reads identically', () => {
    const x = Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i * 0.05) * 0.5);
    const file = path.join(tmp, 'encoded.wav');
    fs.writeFileSync(file, encodeWavPcm16(x, 16000));
    expect(maxAbsDiff(ffmpegDecode(file), parseWav(new Uint8Array(fs.readFileSync(file))).samples)).toBe(0);
  });
});
