// The AudioWorkletGlobalScope, which TypeScript's DOM library leaves out (pcm-worklet.js runs there).
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor();
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;
declare const sampleRate: number;
