/**
 * Recording-condition augmentation for training the emotion head: what a sample goes through on its way from a
 * speaker to Earshot (level, microphone and room, noise, codec, padding). The waveform steps here are pure; the
 * filters and codecs are ffmpeg's (`ffmpegAugmentArgs`), run by the training script.
 */

export type NoiseColour = 'white' | 'pink' | 'brown';

/** One augmented copy of a clip. */
export interface Augmentation {
  /** ffmpeg `-af` filters applied in order (band limit, EQ, reverb, speed/pitch), possibly none. */
  filters: string[];
  /** Lossy codec round trip after the filters, or none. */
  codec: { name: 'mp3' | 'opus'; kbps: number } | null;
  /** Noise added after the codec, at this signal-to-noise ratio, or none. */
  noise: { colour: NoiseColour; snrDb: number } | null;
  /** Overall gain after everything else. */
  gainDb: number;
  /** Silence added before and after (seconds); trimmed clips get none. */
  padBefore_s: number;
  padAfter_s: number;
  /** Leading and trailing silence removed (`trimSilence`) before any padding. */
  trim: boolean;
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const uniform = (rand: () => number, lo: number, hi: number): number => lo + (hi - lo) * rand();
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * A random augmentation: each kind of change is drawn independently with its own probability, so copies mix them
 * (telephone band + opus + noise, a roomy mp3, a sped-up clip in pink noise, ...).
 */
export function randomAugmentation(rand: () => number): Augmentation {
  const filters: string[] = [];
  const trim = rand() < 0.5;
  if (rand() < 0.3) {
    // Speed/pitch perturbation: resampling trick (both change together), as in Kaldi's speed perturbation.
    const factor = pick(rand, [0.9, 0.95, 1.05, 1.1]);
    filters.push(`asetrate=${Math.round(16000 * factor)}`, 'aresample=16000');
  }
  if (rand() < 0.35) filters.push('highpass=f=300', 'lowpass=f=3400', 'aresample=8000', 'aresample=16000'); // telephone band
  if (rand() < 0.4) {
    const freq = Math.round(uniform(rand, 200, 4000));
    filters.push(`equalizer=f=${freq}:t=q:w=1:g=${round(uniform(rand, -10, 10), 1)}`);
  }
  if (rand() < 0.3) {
    // Small-room reflections: a few decaying echoes 10–60 ms apart.
    const delays = [1, 2, 3].map((k) => Math.round(k * uniform(rand, 10, 20)));
    const decays = delays.map((_, k) => round(0.5 * 0.6 ** k, 2));
    filters.push(`aecho=0.8:0.9:${delays.join('|')}:${decays.join('|')}`);
  }
  const codecDraw = rand();
  const codec =
    codecDraw < 0.2 ? { name: 'mp3' as const, kbps: pick(rand, [32, 64]) } : codecDraw < 0.4 ? { name: 'opus' as const, kbps: pick(rand, [12, 24]) } : null;
  const noise = rand() < 0.5 ? { colour: pick(rand, ['white', 'pink', 'brown'] as const), snrDb: round(uniform(rand, 5, 30), 1) } : null;
  const pad = !trim && rand() < 0.5;
  return {
    filters,
    codec,
    noise,
    gainDb: round(uniform(rand, -20, 10), 1),
    padBefore_s: pad ? round(uniform(rand, 0.2, 1.5)) : 0,
    padAfter_s: pad ? round(uniform(rand, 0.2, 1.5)) : 0,
    trim,
  };
}

/** Seeded noise of a colour: white, pink (Paul Kellet's filter), brown (leaky integrated white). */
export function colouredNoise(length: number, colour: NoiseColour, rand: () => number): Float32Array {
  const out = new Float32Array(length);
  let b0 = 0,
    b1 = 0,
    b2 = 0,
    brown = 0;
  for (let i = 0; i < length; i++) {
    const white = 2 * rand() - 1;
    if (colour === 'white') out[i] = white;
    else if (colour === 'pink') {
      b0 = 0.99765 * b0 + white * 0.099046;
      b1 = 0.963 * b1 + white * 0.2965164;
      b2 = 0.57 * b2 + white * 1.0526913;
      out[i] = b0 + b1 + b2 + white * 0.1848;
    } else {
      brown = 0.98 * brown + white * 0.1;
      out[i] = brown;
    }
  }
  return out;
}

function power(x: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += x[i] * x[i];
  return sq / Math.max(1, x.length);
}

/** `signal` plus `noise` scaled so that signal power / noise power = `snrDb` (noise at least as long as signal). */
export function mixAtSnr(signal: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  const ps = power(signal);
  const pn = power(noise.subarray(0, signal.length));
  const scale = pn > 0 && ps > 0 ? Math.sqrt(ps / (pn * 10 ** (snrDb / 10))) : 0;
  const out = new Float32Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i] + scale * noise[i];
  return out;
}

/** `samples` scaled by `gainDb`. */
export function applyGain(samples: Float32Array, gainDb: number): Float32Array {
  const g = 10 ** (gainDb / 20);
  return samples.map((v) => v * g);
}

/**
 * `samples` without leading and trailing silence: 10 ms frames more than `belowPeakDb` under the loudest frame's RMS.
 * Relative to the clip, as recordings differ by tens of dB in level (RAVDESS peaks near −36 dBFS).
 */
export function trimSilence(samples: Float32Array, belowPeakDb = 40, frame = 160): Float32Array {
  const frames = Math.floor(samples.length / frame);
  const energy = new Float64Array(frames);
  let peak = 0;
  for (let f = 0; f < frames; f++) {
    let sq = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) sq += samples[i] * samples[i];
    energy[f] = sq / frame;
    peak = Math.max(peak, energy[f]);
  }
  const floor = peak * 10 ** (-belowPeakDb / 10);
  let first = 0;
  while (first < frames && energy[first] <= floor) first++;
  let last = frames - 1;
  while (last > first && energy[last] <= floor) last--;
  return first >= frames ? samples : samples.slice(first * frame, (last + 1) * frame);
}

/** `samples` with `before` and `after` samples of silence around them. */
export function padSilence(samples: Float32Array, before: number, after: number): Float32Array {
  const out = new Float32Array(before + samples.length + after);
  out.set(samples, before);
  return out;
}

/** File extension of the augmented audio `ffmpegAugmentArgs` writes (the codec's container, else float WAV). */
export function augmentedExtension(aug: Augmentation): string {
  return aug.codec ? (aug.codec.name === 'mp3' ? '.mp3' : '.ogg') : '.wav';
}

/** ffmpeg arguments that decode `input`, apply the filters and encode with the codec (if any) to `output`. */
export function ffmpegAugmentArgs(input: string, output: string, aug: Augmentation): string[] {
  const args = ['-v', 'error', '-nostdin', '-y', '-i', input, '-ac', '1', '-af', ['aresample=16000', ...aug.filters].join(','), '-ar', '16000'];
  if (!aug.codec) return [...args, '-c:a', 'pcm_f32le', output];
  const codec = aug.codec.name === 'mp3' ? 'libmp3lame' : 'libopus';
  return [...args, '-c:a', codec, '-b:a', `${aug.codec.kbps}k`, output];
}
