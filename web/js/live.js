// @ts-check
/** Live mode: the microphone as PCM16 frames from an AudioWorklet, streamed to /v1/ws; partials greyed, finals kept. */
import { ApiError, apiKey } from './api.js';

/** The rates /v1/ws takes; a microphone at another rate is resampled by the AudioContext to 16 kHz. */
const STREAM_RATES = [8000, 16000, 44100, 48000];

/**
 * @param {{ button: HTMLButtonElement, status: HTMLElement, output: HTMLElement, settings: () => object,
 *   onAuthError: (err: ApiError) => boolean }} ui
 */
export function startLive(ui) {
  const finals = /** @type {HTMLElement} */ (ui.output.querySelector('.finals'));
  const partial = /** @type {HTMLElement} */ (ui.output.querySelector('.partial'));
  /** @type {(() => void) | null} */
  let stop = null;

  const setRunning = (/** @type {boolean} */ running) => {
    ui.button.textContent = running ? 'Stop' : 'Start live transcription';
    ui.button.setAttribute('aria-pressed', String(running));
  };

  ui.button.addEventListener('click', async () => {
    if (stop) {
      stop();
      return;
    }
    ui.button.disabled = true;
    try {
      stop = await open();
      setRunning(true);
    } catch (err) {
      ui.status.textContent = `Could not start: ${/** @type {Error} */ (err).message}`;
    } finally {
      ui.button.disabled = false;
    }
  });

  async function open() {
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    let context = new AudioContext();
    if (!STREAM_RATES.includes(context.sampleRate)) {
      await context.close();
      context = new AudioContext({ sampleRate: 16000 });
    }
    await context.audioWorklet.addModule('/ui/js/pcm-worklet.js');
    // Created after awaiting the microphone, the context may start suspended by the autoplay policy.
    await context.resume();
    const source = context.createMediaStreamSource(media);
    const frames = new AudioWorkletNode(context, 'pcm16-frames');

    const key = apiKey();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws${key ? `?api_key=${encodeURIComponent(key)}` : ''}`;
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    finals.textContent = '';
    partial.textContent = '';
    ui.status.textContent = 'Connecting…';

    let ready = false;
    let ended = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      source.disconnect();
      frames.disconnect();
      media.getTracks().forEach((t) => t.stop());
      void context.close();
    };
    // Socket events come after open() has returned, so `stop` is set by then.
    const finish = () => {
      stop = null;
      release();
      setRunning(false);
    };

    frames.port.onmessage = (event) => {
      if (ready && !ended && socket.readyState === WebSocket.OPEN) socket.send(event.data);
    };
    // The worklet writes no output (silence); joined to the destination so that the graph pulls it.
    source.connect(frames).connect(context.destination);

    socket.onopen = () => socket.send(JSON.stringify({ settings: ui.settings(), sample_rate: context.sampleRate }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'ready') {
        ready = true;
        ui.status.textContent = 'Listening…';
      } else if (message.type === 'partial') {
        partial.textContent = message.text;
      } else if (message.type === 'final') {
        const line = document.createElement('span');
        line.className = 'final';
        line.textContent = message.segment.text.trim() + ' ';
        finals.append(line);
        partial.textContent = '';
      } else if (message.type === 'error') {
        const err = new ApiError(message.code === 'unauthorized' ? 401 : message.code === 'forbidden' ? 403 : 400, message.code, message.message);
        if (!ui.onAuthError(err)) ui.status.textContent = `Error: ${message.message}`;
      } else if (message.type === 'done') {
        partial.textContent = ''; // provisional text that no final confirmed (the service judged it not speech)
        ui.status.textContent = 'Finished.';
      }
    };
    socket.onclose = (event) => {
      if (!ended && event.code !== 1000) ui.status.textContent ||= `The stream closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`;
      finish();
    };

    return () => {
      ended = true;
      ui.status.textContent = 'Finishing…';
      release();
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'end' }));
      else socket.close();
    };
  }
}
