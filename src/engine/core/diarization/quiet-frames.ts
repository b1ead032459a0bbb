/**
 * Which segmentation frames are quiet: a frame (the `step` samples around its centre) whose mean power is more than
 * `belowDb` under the file's loud level (the 95th percentile of frame powers), or digital silence. The segmentation
 * model often carries speech across a short pause between two voices (P(silence) 0.3–0.4 over digital silence on
 * the DEV conversations), which both adds false alarm and joins the voices into one piece.
 */
export function quietFrames(audio: Float32Array, frames: number, step: number, firstCentre: number, belowDb: number): Uint8Array {
  const power = new Float64Array(frames);
  for (let g = 0; g < frames; g++) {
    const a = Math.max(0, Math.round(firstCentre + (g - 0.5) * step));
    const b = Math.min(audio.length, a + step);
    let sum = 0;
    for (let i = a; i < b; i++) sum += audio[i] * audio[i];
    power[g] = b > a ? sum / (b - a) : 0;
  }
  const loud = Float64Array.from(power).sort()[Math.min(frames - 1, Math.floor(0.95 * frames))];
  const floor = loud * 10 ** (-belowDb / 10);
  return Uint8Array.from(power, (p) => (p <= floor ? 1 : 0));
}
