// @ts-check
/** The playground: choose or record audio, run tasks now or as a job, see and play the result, download it. */
import WaveSurfer from '/ui/vendor/wavesurfer.esm.js';
import { api, apiJson, clock, keyField } from './api.js';
import { startLive } from './live.js';

/** @typedef {{ start: number, end: number, text: string, speaker?: string, emotion?: string }} Segment */

const SPEAKER_COLOURS = ['#2f6fde', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#0b7285', '#c2255c', '#5f3dc4'];
const EMOTION_COLOURS = /** @type {Record<string, string>} */ ({
  neutral: '#6c757d',
  calm: '#0c8599',
  happy: '#e67700',
  sad: '#1864ab',
  angry: '#c92a2a',
  fearful: '#7048e8',
  disgust: '#2b8a3e',
  surprised: '#d6336c',
});
const EXTENSIONS = { json: 'json', text: 'txt', srt: 'srt', vtt: 'vtt', rttm: 'rttm' };
const JOB_POLL_MS = 400;
/** Enrolment audio cut from a lane is sent at the rate the service works at. */
const ENROL_SAMPLE_RATE = 16000;

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ (byId('run-form'));
const fileInput = /** @type {HTMLInputElement} */ (byId('file'));
const modelSelect = /** @type {HTMLSelectElement} */ (byId('model'));
const languageSelect = /** @type {HTMLSelectElement} */ (byId('language'));
const runButton = /** @type {HTMLButtonElement} */ (byId('run'));
const progress = /** @type {HTMLProgressElement} */ (byId('progress'));
const runStatus = byId('run-status');

/** @type {File | null} */
let audio = null;
/** @type {any} the last answer (a POST /v1/process body, or a job's result) */
let shown = null;
/** @type {WaveSurfer | null} */
let waveform = null;

const key = keyField(() => void loadModels());

/** Fills the model list from GET /v1/models; also how the page finds out that a key is needed. */
async function loadModels() {
  try {
    const list = await apiJson('/v1/models');
    const stt = list.data.filter((/** @type {any} */ m) => m.kind === 'stt');
    modelSelect.replaceChildren(
      ...stt.map((/** @type {any} */ m) => new Option(m.loaded ? `${m.id} (loaded)` : m.id, m.id, false, m.id === list.default_model)),
    );
  } catch (err) {
    if (!key.ask(err)) runStatus.textContent = `Could not list the models: ${/** @type {Error} */ (err).message}`;
  }
}

/** @param {File} file */
function chooseAudio(file) {
  audio = file;
  byId('chosen').textContent = `${file.name} (${(file.size / 1024 / 1024).toFixed(2)} MB)`;
  runButton.disabled = false;
}

fileInput.addEventListener('change', () => {
  if (fileInput.files?.[0]) chooseAudio(fileInput.files[0]);
});
const drop = byId('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('dragging');
});
drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('dragging');
  const file = event.dataTransfer?.files[0];
  if (file) chooseAudio(file);
});

/** Recording: MediaRecorder's own container (webm/opus in Chromium), which the service decodes with ffmpeg. */
const recordButton = /** @type {HTMLButtonElement} */ (byId('record'));
/** @type {MediaRecorder | null} */
let recorder = null;
recordButton.addEventListener('click', async () => {
  if (recorder) {
    recorder.stop();
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = /** @type {Blob[]} */ ([]);
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (event) => chunks.push(event.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      const type = recorder?.mimeType || 'audio/webm';
      recorder = null;
      recordButton.textContent = 'Record from the microphone';
      recordButton.setAttribute('aria-pressed', 'false');
      chooseAudio(new File(chunks, `recording.${type.includes('ogg') ? 'ogg' : 'webm'}`, { type }));
    };
    recorder.start();
    recordButton.textContent = 'Stop recording';
    recordButton.setAttribute('aria-pressed', 'true');
    byId('chosen').textContent = 'Recording…';
  } catch (err) {
    byId('chosen').textContent = `The microphone is not available: ${/** @type {Error} */ (err).message}`;
  }
});

function settings() {
  const tasks = [...form.querySelectorAll('input[name="task"]:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
  const nameVoices = /** @type {HTMLInputElement} */ (byId('name-voices')).checked;
  return {
    tasks,
    tra: { model: modelSelect.value || undefined, language: languageSelect.value },
    ...(tasks.includes('diarization') && nameVoices ? { dia: { speakers: 'all' } } : {}),
    ...(tasks.includes('emotion') ? { emo: { analysis_level: tasks.includes('transcribe') ? 'segment' : 'file' } } : {}),
  };
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!audio) return;
  const asJob = /** @type {HTMLInputElement} */ (form.querySelector('input[name="mode"]:checked')).value === 'job';
  const body = new FormData();
  body.append('audio', audio, audio.name);
  body.append('request_json', JSON.stringify({ settings: settings(), async_process: asJob }));
  runButton.disabled = true;
  progress.hidden = !asJob;
  progress.value = 0;
  runStatus.textContent = asJob ? 'Queued…' : 'Processing…';
  const started = performance.now();
  try {
    const answer = await apiJson('/v1/process', { method: 'POST', body });
    const response = asJob ? await followJob(answer.job_id) : answer;
    runStatus.textContent = `Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
    showResult(response);
  } catch (err) {
    if (!key.ask(err)) runStatus.textContent = `Failed: ${/** @type {Error} */ (err).message}`;
  } finally {
    runButton.disabled = false;
  }
});

/** Polls the job until it ends, feeding the progress bar; resolves to its result. @param {string} id */
async function followJob(id) {
  for (;;) {
    const job = await apiJson(`/v1/jobs/${encodeURIComponent(id)}`);
    progress.value = Math.round(job.progress * 100);
    runStatus.textContent = `Job ${id}: ${job.status}, ${progress.value}%`;
    if (job.status === 'completed') return job.result;
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`job ${job.status}: ${job.error?.message ?? ''}`);
    await new Promise((r) => setTimeout(r, JOB_POLL_MS));
  }
}

/** @param {number} start @param {number} end */
function play(start, end) {
  // Fire and forget: a refused playback (autoplay policy) is the browser's to report.
  void waveform?.play(start, end);
}

/** @param {any} response */
function showResult(response) {
  shown = response;
  enrolForm.hidden = true;
  byId('enrol-status').textContent = '';
  const { result, audio: info } = response;
  const segments = /** @type {Segment[]} */ (result.segments ?? result.tra?.segments ?? []);
  const speakers = /** @type {string[]} */ ((result.dia?.speakers ?? []).map((/** @type {{id: string}} */ s) => s.id));
  const colourOf = (/** @type {string | undefined} */ speaker) =>
    speaker === undefined ? undefined : SPEAKER_COLOURS[Math.max(0, speakers.indexOf(speaker)) % SPEAKER_COLOURS.length];

  const facts = [`${info.duration_s.toFixed(1)} s of audio`];
  if (result.tra) facts.push(`language ${result.tra.language}`);
  if (result.dia) facts.push(`${result.dia.num_speakers} speaker${result.dia.num_speakers === 1 ? '' : 's'}`);
  if (result.emo?.file) facts.push(`overall emotion ${result.emo.file.label}`);
  facts.push(`processed in ${(response.timings_ms.total / 1000).toFixed(1)} s`);
  byId('result-summary').textContent = facts.join(' · ');

  waveform?.destroy();
  waveform = WaveSurfer.create({ container: '#waveform', url: URL.createObjectURL(/** @type {File} */ (audio)), height: 96, normalize: true });
  waveform.on('error', () => (byId('waveform').textContent = 'This browser cannot play this file; the transcript is below.'));
  waveform.on('timeupdate', (time) => markPlaying(time));
  waveform.on('pause', () => markPlaying(-1));

  drawLanes(result, info.duration_s, colourOf);

  const list = byId('transcript');
  list.replaceChildren(
    ...segments.map((segment) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.start = String(segment.start);
      button.dataset.end = String(segment.end);
      const colour = colourOf(segment.speaker);
      if (colour) button.style.setProperty('--seg-colour', colour);
      const time = span('time', clock(segment.start));
      const who = span('speaker-chip', segment.speaker ?? '');
      if (colour) who.style.color = colour;
      const text = span('text', segment.text.trim());
      if (segment.emotion) text.prepend(emotionBadge(segment.emotion), ' ');
      button.append(time, who, text);
      button.addEventListener('click', () => play(segment.start, segment.end));
      item.append(button);
      return item;
    }),
  );
  if (!segments.length && result.tra) list.replaceChildren(span('muted', 'No speech found.'));
  for (const button of document.querySelectorAll('.downloads button')) {
    const format = /** @type {HTMLElement} */ (button).dataset.format;
    /** @type {HTMLButtonElement} */ (button).disabled = format === 'rttm' ? !result.dia : format !== 'json' && !result.tra;
  }
  byId('result').hidden = false;
}

/** Highlights the transcript segment being played. @param {number} time */
function markPlaying(time) {
  for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('#transcript button'))) {
    const playing = waveform?.isPlaying() === true && time >= Number(button.dataset.start) && time < Number(button.dataset.end);
    button.classList.toggle('playing', playing);
    if (playing) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}

/**
 * One lane per speaker with its turns as coloured blocks, and an emotion lane with a badge per analysed piece.
 * @param {any} result @param {number} duration @param {(speaker: string | undefined) => string | undefined} colourOf
 */
function drawLanes(result, duration, colourOf) {
  const lanes = byId('lanes');
  lanes.replaceChildren();
  const percent = (/** @type {number} */ t) => `${((100 * t) / Math.max(duration, 1e-3)).toFixed(3)}%`;
  for (const speaker of result.dia?.speakers ?? []) {
    const { label, track } = lane(lanes, speaker.id, 'speaker-lane');
    if (speaker.speaker_id) {
      label.classList.add('named');
      label.title = `Enrolled voice (match ${speaker.match_score})`;
    } else if (speaker.id !== 'unknown') {
      const enrol = document.createElement('button');
      enrol.type = 'button';
      enrol.className = 'enrol';
      enrol.textContent = 'Enrol';
      enrol.setAttribute('aria-label', `Enrol ${speaker.id}'s voice`);
      enrol.addEventListener('click', () => askEnrolment(speaker.id));
      label.append(enrol);
    }
    for (const turn of result.dia.turns.filter((/** @type {any} */ t) => t.speaker === speaker.id)) {
      const block = timeBlock(turn.start, turn.end, percent, `${speaker.id} ${clock(turn.start)}–${clock(turn.end)}`);
      block.style.background = colourOf(speaker.id) ?? '';
      track.append(block);
    }
  }
  const pieces = result.emo?.items ?? [];
  if (pieces.length) {
    const { track } = lane(lanes, 'Emotion', 'emotion-lane');
    for (const piece of pieces) {
      const block = timeBlock(piece.start, piece.end, percent, `${piece.label} ${clock(piece.start)}–${clock(piece.end)}`);
      block.classList.add('emotion');
      block.textContent = piece.label;
      block.style.background = EMOTION_COLOURS[piece.label] ?? '#6c757d';
      track.append(block);
    }
  }
}

/**
 * A block of a lane from `start` to `end` that plays that stretch when chosen.
 * @param {number} start @param {number} end @param {(t: number) => string} percent @param {string} label
 */
function timeBlock(start, end, percent, label) {
  const block = document.createElement('button');
  block.type = 'button';
  block.style.left = percent(start);
  block.style.width = percent(end - start);
  block.title = label;
  block.setAttribute('aria-label', `Play ${label}`);
  block.addEventListener('click', () => play(start, end));
  return block;
}

/** @param {HTMLElement} parent @param {string} text @param {string} kind */
function lane(parent, text, kind) {
  const row = document.createElement('div');
  row.className = `lane ${kind}`;
  const label = span('lane-label', text);
  const track = document.createElement('div');
  track.className = 'lane-track';
  row.append(label, track);
  parent.append(row);
  return { label, track };
}

/**
 * Enrolment from a lane: the speaker's turns without the stretches where anyone else talks too, cut from the chosen
 * file in the browser (decoded and resampled to 16 kHz mono by an OfflineAudioContext), sent as a WAV to
 * POST /v1/speakers, which refuses it (422) when it holds no clear single voice.
 */
const enrolForm = /** @type {HTMLFormElement} */ (byId('enrol-form'));
const enrolName = /** @type {HTMLInputElement} */ (byId('enrol-name'));
/** The lane (speaker label) being enrolled. */
let enrolling = '';

/** @param {string} speaker */
function askEnrolment(speaker) {
  enrolling = speaker;
  byId('enrol-lane').textContent = `Enrol the voice of ${speaker} as`;
  byId('enrol-status').textContent = '';
  enrolForm.hidden = false;
  enrolName.value = '';
  enrolName.focus();
}

byId('enrol-cancel').addEventListener('click', () => (enrolForm.hidden = true));
enrolForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!audio || !shown?.result.dia) return;
  const name = enrolName.value.trim();
  const status = byId('enrol-status');
  const submit = /** @type {HTMLButtonElement} */ (byId('enrol-submit'));
  submit.disabled = true;
  status.textContent = `Enrolling ${name}…`;
  try {
    const samples = await speakerAudio(audio, shown.result.dia.turns, enrolling, ENROL_SAMPLE_RATE);
    const body = new FormData();
    body.append('name', name);
    body.append('audio', wavBlob(samples, ENROL_SAMPLE_RATE), `${enrolling}.wav`);
    const speaker = await apiJson('/v1/speakers', { method: 'POST', body });
    enrolForm.hidden = true;
    status.textContent = `Enrolled ${speaker.name} from ${speaker.speech_s.toFixed(1)} s of ${enrolling}'s speech. Run again to find ${speaker.name} by voice.`;
  } catch (err) {
    if (!key.ask(err)) status.textContent = `Enrolment failed: ${/** @type {Error} */ (err).message}`;
  } finally {
    submit.disabled = false;
  }
});

/**
 * The file's audio (channels averaged) during `speaker`'s turns, less any time another speaker's turn overlaps.
 * @param {File} file @param {Array<{start: number, end: number, speaker: string}>} turns @param {string} speaker
 * @param {number} sampleRate
 */
async function speakerAudio(file, turns, speaker, sampleRate) {
  const decoded = await new OfflineAudioContext(1, 1, sampleRate).decodeAudioData(await file.arrayBuffer());
  const channels = Array.from({ length: decoded.numberOfChannels }, (_, c) => decoded.getChannelData(c));
  const others = turns.filter((t) => t.speaker !== speaker);
  /** @type {Array<[number, number]>} */
  const ranges = [];
  for (const turn of turns.filter((t) => t.speaker === speaker)) {
    let pieces = /** @type {Array<[number, number]>} */ ([[turn.start, turn.end]]);
    for (const o of others)
      pieces = pieces.flatMap(([a, b]) =>
        o.end <= a || o.start >= b
          ? [[a, b]]
          : /** @type {Array<[number, number]>} */ ([
              [a, o.start],
              [o.end, b],
            ]).filter(([x, y]) => y > x),
      );
    ranges.push(...pieces);
  }
  const toSample = (/** @type {number} */ t) => Math.min(decoded.length, Math.max(0, Math.round(t * sampleRate)));
  const out = new Float32Array(ranges.reduce((n, [a, b]) => n + toSample(b) - toSample(a), 0));
  let at = 0;
  for (const [a, b] of ranges) {
    for (let i = toSample(a); i < toSample(b); i++) {
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      out[at++] = sum / channels.length;
    }
  }
  return out;
}

/** 16-bit PCM mono WAV. @param {Float32Array} samples @param {number} sampleRate */
function wavBlob(samples, sampleRate) {
  const view = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const text = (/** @type {number} */ at, /** @type {string} */ s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + 2 * samples.length, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, 2 * sampleRate, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, 2 * samples.length, true);
  samples.forEach((x, i) => view.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, x)) * 32767), true));
  return new Blob([view], { type: 'audio/wav' });
}

/** @param {string} emotion */
function emotionBadge(emotion) {
  const badge = span('badge', emotion);
  badge.style.background = EMOTION_COLOURS[emotion] ?? '';
  badge.style.color = '#fff';
  return badge;
}

/** @param {string} className @param {string} text */
function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

/** JSON is the answer itself; the other formats are rendered by the service's own writers (POST /v1/render). */
for (const button of document.querySelectorAll('.downloads button')) {
  button.addEventListener('click', async () => {
    const format = /** @type {keyof EXTENSIONS} */ (/** @type {HTMLElement} */ (button).dataset.format);
    try {
      const blob =
        format === 'json'
          ? new Blob([JSON.stringify(shown, null, 2)], { type: 'application/json' })
          : await (
              await api(`/v1/render?format=${format}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ request_id: shown.request_id, result: withoutWords(shown.result) }),
              })
            ).blob();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${(audio?.name ?? 'earshot').replace(/\.[^.]+$/, '')}.${EXTENSIONS[format]}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      if (!key.ask(err)) runStatus.textContent = `Download failed: ${/** @type {Error} */ (err).message}`;
    }
  });
}

/** The writers need no word lists; leaving them out keeps long results under the JSON body limit. @param {any} result */
function withoutWords(result) {
  const strip = (/** @type {any[] | undefined} */ list) => list?.map(({ words, ...rest }) => rest);
  return { ...result, segments: strip(result.segments), tra: result.tra && { ...result.tra, segments: strip(result.tra.segments) } };
}

startLive({
  button: /** @type {HTMLButtonElement} */ (byId('live-toggle')),
  status: byId('live-status'),
  output: byId('live-text'),
  settings: () => ({ tasks: ['transcribe'], tra: { model: modelSelect.value || undefined, language: languageSelect.value } }),
  onAuthError: (err) => key.ask(err),
});

void loadModels();
