// @ts-check
/**
 * AudioWorklet processor: the first input channel as PCM16 little-endian, posted to the page in frames of 100 ms
 * (the frame's ArrayBuffer is transferred, not copied). `sampleRate` is the AudioContext's rate.
 */
class Pcm16Frames extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frameLength = Math.round(sampleRate / 10);
    this.frame = new Int16Array(this.frameLength);
    this.filled = 0;
  }

  /** @param {Float32Array[][]} inputs */
  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.frameLength) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]); // detaches this.frame
        this.frame = new Int16Array(this.frameLength);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('pcm16-frames', Pcm16Frames);
