/**
 * In-process WAV (RIFF/WAVE and RF64/BW64) decoder to mono float32. Handles integer PCM of
 * 8 (unsigned) to 32 bits, IEEE float 32/64, G.711 A-law/µ-law and WAVE_FORMAT_EXTENSIBLE
 * wrapping any of these; multichannel audio is averaged to mono, or one channel is picked.
 */

export interface DecodedPcm {
  sampleRate: number;
  channels: number;
  /** mono mix (or the picked channel), float32 in [-1,1] */
  samples: Float32Array;
}

export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 4..15 of every KSDATAFORMAT_SUBTYPE_* GUID derived from a WAVE format tag. */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
/** RIFF chunk sizes are 32-bit; streaming writers put this in when the length is unknown. */
const UNKNOWN_SIZE = 0xffffffff;

function fourcc(buf: Uint8Array, offset: number): string {
  return String.fromCharCode(buf[offset], buf[offset + 1], buf[offset + 2], buf[offset + 3]);
}

/** RIFF/WAVE, or the 64-bit RF64/BW64 variants. */
export function isWav(buf: Uint8Array): boolean {
  if (buf.length < 12) return false;
  const riff = fourcc(buf, 0);
  return (riff === 'RIFF' || riff === 'RF64' || riff === 'BW64') && fourcc(buf, 8) === 'WAVE';
}

interface Format {
  /** Format tag after unwrapping WAVE_FORMAT_EXTENSIBLE. */
  codec: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function parseFmt(view: DataView, offset: number, size: number): Format {
  if (size < 16) throw new WavFormatError(`fmt chunk too short (${size} bytes)`);
  let codec = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  const bitsPerSample = view.getUint16(offset + 14, true);
  if (codec === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError(`WAVE_FORMAT_EXTENSIBLE fmt chunk too short (${size} bytes)`);
    const guid = offset + 24;
    const tailOk = SUBFORMAT_GUID_TAIL.every((b, i) => view.getUint8(guid + 4 + i) === b);
    if (!tailOk || view.getUint16(guid + 2, true) !== 0) throw new WavFormatError('unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID');
    codec = view.getUint16(guid, true);
  }
  if (channels === 0) throw new WavFormatError('fmt chunk declares zero channels');
  if (sampleRate === 0) throw new WavFormatError('fmt chunk declares a sample rate of 0');
  const supported =
    (codec === FORMAT_PCM && bitsPerSample >= 1 && bitsPerSample <= 32) ||
    (codec === FORMAT_FLOAT && (bitsPerSample === 32 || bitsPerSample === 64)) ||
    ((codec === FORMAT_ALAW || codec === FORMAT_MULAW) && bitsPerSample === 8);
  if (!supported) {
    throw new WavFormatError(`unsupported WAV codec 0x${codec.toString(16).padStart(4, '0')} with ${bitsPerSample} bits per sample`);
  }
  const expectedAlign = channels * Math.ceil(bitsPerSample / 8);
  if (blockAlign !== expectedAlign) {
    throw new WavFormatError(`bad block align ${blockAlign} for ${channels} channel(s) of ${bitsPerSample}-bit samples (expected ${expectedAlign})`);
  }
  return { codec, channels, sampleRate, blockAlign, bitsPerSample };
}

/**
 * Decodes a whole WAV file held in memory. Truncated or streaming-style (size 0xFFFFFFFF) data chunks use the bytes
 * present. `channel` (0-based) picks one channel instead of the mono mix.
 */
export function parseWav(buf: Uint8Array, channel?: number): DecodedPcm {
  if (!isWav(buf)) throw new WavFormatError('not a RIFF/WAVE file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const rf64 = fourcc(buf, 0) !== 'RIFF';
  let rf64DataSize = -1;
  let fmt: Format | undefined;
  let dataOffset = -1;
  let dataSize = 0;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = fourcc(buf, offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'ds64' && rf64) {
      if (size < 24 || body + 24 > buf.length) throw new WavFormatError('ds64 chunk too short');
      // 64-bit data size; above 2^53 bytes it could not be in memory anyway.
      rf64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 2 ** 32;
    } else if (id === 'fmt ') {
      if (body + Math.min(size, 40) > buf.length) throw new WavFormatError('fmt chunk truncated');
      fmt = parseFmt(view, body, size);
    } else if (id === 'data') {
      if (rf64 && size === UNKNOWN_SIZE && rf64DataSize >= 0) size = rf64DataSize;
      dataOffset = body;
      dataSize = Math.min(size, buf.length - body);
      // A data chunk reaching past the end of the buffer (truncated or still being written) ends the file.
      if (body + size >= buf.length) break;
    }
    offset = body + size + (size & 1);
  }
  if (!fmt) throw new WavFormatError('missing fmt chunk');
  if (dataOffset < 0) throw new WavFormatError('missing data chunk');
  const frames = Math.floor(dataSize / fmt.blockAlign);
  if (channel !== undefined && !(Number.isInteger(channel) && channel >= 0 && channel < fmt.channels)) {
    throw new WavFormatError(`no channel ${channel} in a ${fmt.channels}-channel file`);
  }
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    samples:
      channel === undefined
        ? decodeMono(view, dataOffset, frames, fmt)
        : decodeMono(view, dataOffset, frames, pickChannel(fmt), channel * (fmt.blockAlign / fmt.channels)),
  };
}

/** Value of each of the 256 codes of an 8-bit format (unsigned PCM, A-law, µ-law), scaled to [-1, 1]. */
function byteTable(codec: number): Float32Array {
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    if (codec === FORMAT_PCM) {
      table[code] = (code - 128) / 128;
    } else if (codec === FORMAT_ALAW) {
      const a = code ^ 0x55;
      const exponent = (a >> 4) & 7;
      const mantissa = a & 15;
      const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
      table[code] = ((a & 0x80 ? 1 : -1) * magnitude) / 32768;
    } else {
      const u = ~code & 0xff;
      const exponent = (u >> 4) & 7;
      const mantissa = u & 15;
      const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
      table[code] = ((u & 0x80 ? -1 : 1) * magnitude) / 32768;
    }
  }
  return table;
}

/** The format seen as mono with one sample per frame and the rest of the frame skipped as padding. */
function pickChannel(fmt: Format): Format & { skip: number } {
  const bytes = fmt.blockAlign / fmt.channels;
  return { ...fmt, channels: 1, blockAlign: bytes, skip: fmt.blockAlign - bytes };
}

function decodeMono(view: DataView, offset: number, frames: number, fmt: Format & { skip?: number }, start = 0): Float32Array {
  const out = new Float32Array(frames);
  const ch = fmt.channels;
  const bytes = fmt.blockAlign / ch;
  const mix = 1 / ch;
  const skip = fmt.skip ?? 0;
  let p = offset + start;
  if (fmt.codec === FORMAT_FLOAT && bytes === 4) {
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p += 4) s += view.getFloat32(p, true);
      out[f] = s * mix;
      p += skip;
    }
  } else if (fmt.codec === FORMAT_FLOAT) {
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p += 8) s += view.getFloat64(p, true);
      out[f] = s * mix;
      p += skip;
    }
  } else if (bytes === 1) {
    const table = byteTable(fmt.codec);
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p++) s += table[view.getUint8(p)];
      out[f] = s * mix;
      p += skip;
    }
  } else if (bytes === 2) {
    const scale = mix / 32768;
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p += 2) s += view.getInt16(p, true);
      out[f] = s * scale;
      p += skip;
    }
  } else if (bytes === 3) {
    const scale = mix / 8388608;
    for (let f = 0; f < frames; f++) {
      let s = 0;
      // Low byte plus the sign-extended upper 16 bits.
      for (let c = 0; c < ch; c++, p += 3) s += view.getUint8(p) + view.getInt16(p + 1, true) * 256;
      out[f] = s * scale;
      p += skip;
    }
  } else {
    const scale = mix / 2147483648;
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p += 4) s += view.getInt32(p, true);
      out[f] = s * scale;
      p += skip;
    }
  }
  return out;
}

/** Mono 16-bit PCM WAV of `samples` (clipped to [-1, 1]). */
export function encodeWavPcm16(samples: Float32Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > UNKNOWN_SIZE) {
    throw new RangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
  }
  const dataSize = samples.length * 2;
  if (36 + dataSize > UNKNOWN_SIZE) throw new RangeError('too many samples for a RIFF WAV file');
  const buf = new Uint8Array(44 + dataSize);
  const view = new DataView(buf.buffer);
  const ascii = (offset: number, s: string) => {
    for (let i = 0; i < 4; i++) buf[offset + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataSize, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, dataSize, true);
  for (let i = 0, p = 44; i < samples.length; i++, p += 2) {
    const v = Math.round(samples[i] * 32768);
    view.setInt16(p, v > 32767 ? 32767 : v < -32768 ? -32768 : v, true);
  }
  return buf;
}
