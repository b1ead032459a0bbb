import type { DiarizationResult, SpeakerTurn } from '../../../../libs/contracts/process';
import { clusterVoices } from './cluster-voices';
import type { SampleRange, SegmentationModel, SpeakerEmbedder } from './models';
import { quietFrames } from './quiet-frames';
import { linkLocalSpeakers } from './tracks';
import { type FrameTurn, speakerTurns } from './turns';
import { meanVoice } from '../../../../libs/diarization/voiceprint';

/** One diarized speaker's voice: a unit vector in the embedder's space, and the speech it was measured on. */
export interface SpeakerVoice {
  /** Its label in the result (SPEAKER_xx). */
  speaker: string;
  embedding: Float32Array;
  speechS: number;
}

/** Speaker-count constraints of one request (null: free). */
export interface SpeakerLimits {
  numSpeakers: number | null;
  minSpeakers: number | null;
  maxSpeakers: number | null;
}

export interface DiarizerTuning {
  /** Hop between 10 s segmentation windows. */
  stepS: number;
  /** Windows per segmentation run. */
  batchSize: number;
  /** Local speakers of consecutive windows are the same track when their activity in the shared frames has this IoU. */
  linkIou: number;
  /** Longest piece of one track's non-overlapped speech per embedding. */
  pieceS: number;
  /** A pause of this length ends every piece, so that a piece is one voice. */
  pieceGapS: number;
  /**
   * A frame is a pause when the segmentation gives silence at least this probability. Lower than the 1/2 at which
   * silence wins: between two voices that it gives one local speaker, the model often keeps silence at 0.3–0.4
   * (inside a turn it stays under 0.2 on DEV).
   */
  pauseProbability: number;
  /** Frames this many dB under the file's loud level are silence whatever the segmentation says (see quietFrames). */
  quietDb: number;
  /** Shorter pieces are not embedded: they take the speaker of the nearest embedded piece of their track. */
  minPieceS: number;
  /**
   * Clusters with less than this share of the embedded speech join their nearest neighbour (count free): an actor
   * who shouts in one turn and whispers in the next can look like two voices. 0.15 rather than 0.05–0.12 took the
   * DEV conversations from 7 to 8 right counts of 9 (DER 15.9% → 13.9%) and changed no meeting clip.
   */
  minClusterShare: number;
  minDurationOnS: number;
  minDurationOffS: number;
}

export const DEFAULT_TUNING: DiarizerTuning = {
  stepS: 2,
  batchSize: 8,
  linkIou: 0.5,
  pieceS: 3,
  pieceGapS: 0.15,
  pauseProbability: 0.3,
  quietDb: 50,
  minPieceS: 0.5,
  minClusterShare: 0.15,
  minDurationOnS: 0,
  minDurationOffS: 0.2,
};

/** A stretch of one track's non-overlapped speech, without pauses: one voice. */
interface Piece {
  track: number;
  /** Runs of global frames [start, end). */
  runs: Array<[number, number]>;
  frames: number;
  /** Global frames of its first and last frame. */
  firstFrame: number;
  lastFrame: number;
}

/**
 * The cluster of a track at a frame: that of the track's piece whose middle is nearest (−1 for a track without
 * pieces). A track's pieces come in time order.
 */
function piecewiseClusters(pieces: Piece[], labels: number[], trackCount: number): (track: number, frame: number) => number {
  const byTrack = Array.from({ length: trackCount }, () => ({ middles: [] as number[], clusters: [] as number[] }));
  pieces.forEach((p, i) => {
    byTrack[p.track].middles.push((p.firstFrame + p.lastFrame) / 2);
    byTrack[p.track].clusters.push(labels[i]);
  });
  return (track, frame) => {
    const { middles, clusters } = byTrack[track];
    if (middles.length === 0) return -1;
    let lo = 0;
    let hi = middles.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (middles[mid] < frame) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && frame - middles[lo - 1] < middles[lo] - frame ? clusters[lo - 1] : clusters[lo];
  };
}

/** Start sample of each 10 s window: every step, plus one flush with the end so the tail is covered. */
export function windowStarts(totalSamples: number, windowSamples: number, stepSamples: number): number[] {
  if (totalSamples <= windowSamples) return [0];
  const starts: number[] = [];
  for (let s = 0; s + windowSamples < totalSamples; s += stepSamples) starts.push(s);
  starts.push(totalSamples - windowSamples);
  return starts;
}

/** Local speaker activity of one window: bit k of each frame's byte is local speaker k. */
export function powersetToActivity(logProbs: Float32Array, frames: number, powerset: readonly (readonly number[])[], out: Uint8Array): void {
  const C = powerset.length;
  const masks = powerset.map((speakers) => speakers.reduce((m, k) => m | (1 << k), 0));
  for (let f = 0; f < frames; f++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logProbs[f * C + c] > logProbs[f * C + best]) best = c;
    out[f] = masks[best];
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, m) => m.toString(2).replace(/0/g, '').length);

/**
 * Diarization over any segmentation model and speaker embedder: sliding-window segmentation, local speakers linked
 * into tracks across overlapping windows, one embedding per pauseless piece of a track's non-overlapped speech,
 * clustering of the pieces, and reconstruction of per-frame speakers with the segmentation's speaker count (so
 * overlapped speech keeps both speakers).
 */
export class Diarizer {
  constructor(
    private readonly segmentation: SegmentationModel,
    private readonly embedder: SpeakerEmbedder,
    private readonly tuning: DiarizerTuning = DEFAULT_TUNING,
  ) {}

  get embedderName(): string {
    return this.embedder.name;
  }

  /** One raw embedding per entry of `pieces` (each a list of sample ranges of `audio`), comparable with voiceprints. */
  async embed(audio: Float32Array, pieces: readonly (readonly SampleRange[])[]): Promise<Float32Array[]> {
    return this.embedder.embed(audio, pieces);
  }

  /** Its speaker embedder, which live streams use to label each utterance. */
  get speakerEmbedder(): SpeakerEmbedder {
    return this.embedder;
  }

  async diarize(audio: Float32Array, limits: SpeakerLimits, onProgress?: (fraction: number) => void): Promise<DiarizationResult> {
    return (await this.diarizeWithVoices(audio, limits, onProgress)).result;
  }

  /**
   * The diarization, and the voice of each speaker in it: the frame-weighted mean of its pieces' raw (not
   * file-centred) unit embeddings, comparable across files, with the seconds of speech it rests on.
   */
  async diarizeWithVoices(
    audio: Float32Array,
    limits: SpeakerLimits,
    onProgress?: (fraction: number) => void,
  ): Promise<{ result: DiarizationResult; voices: SpeakerVoice[] }> {
    const seg = this.segmentation;
    const t = this.tuning;
    const F = seg.framesPerWindow;
    const L = seg.localSpeakers;
    const sr = seg.sampleRate;
    const starts = windowStarts(audio.length, seg.windowSamples, Math.round(t.stepS * sr));
    const { activity, pause } = await this.segment(audio, starts, onProgress);
    const offsets = starts.map((s) => Math.round(s / seg.frameStep));
    // Frames past the end of the audio (a short file's padded window) are silence.
    const audioFrames = Math.min(offsets[offsets.length - 1] + F, Math.ceil(audio.length / seg.frameStep));
    const quiet = quietFrames(audio, audioFrames, seg.frameStep, seg.frameCentre, t.quietDb);
    for (let w = 0; w < offsets.length; w++) {
      for (let j = 0; j < F && offsets[w] + j < audioFrames; j++) {
        if (!quiet[offsets[w] + j]) continue;
        activity[w * F + j] = 0;
        pause[w * F + j] = 1;
      }
    }

    const tracks = linkLocalSpeakers(activity, offsets, F, L, t.linkIou);
    const pieces = this.pieces(activity, pause, offsets, tracks.ofNode, audioFrames);
    const sampleRanges = (p: Piece): SampleRange[] =>
      p.runs.map(([a, b]) => [
        Math.min(a * seg.frameStep + seg.frameCentre - seg.frameStep / 2, audio.length),
        Math.min(b * seg.frameStep + seg.frameCentre - seg.frameStep / 2, audio.length),
      ]);
    const embeddings = await this.embedder.embed(audio, pieces.map(sampleRanges));
    onProgress?.(0.95);

    // The units clustered are pieces, not tracks: a track can carry two voices in turn, a piece cannot.
    const labels = this.cluster(embeddings, pieces, limits);
    const clusters = labels.length > 0 ? Math.max(...labels) + 1 : 0;
    const clusterAt = piecewiseClusters(pieces, Array.from(labels), tracks.count);

    const ownCluster = new Int32Array(audioFrames).fill(-1);
    pieces.forEach((p, i) => {
      for (const [a, b] of p.runs) ownCluster.fill(labels[i], a, b);
    });
    const frameTurns = this.reconstruct(activity, offsets, tracks.ofNode, clusterAt, ownCluster, clusters);
    onProgress?.(1);
    const labelOf = new Map<number, string>();
    const result = this.result(frameTurns, audio.length / sr, labelOf);
    const frameS = seg.frameStep / sr;
    const voices: SpeakerVoice[] = [...labelOf].map(([cluster, speaker]) => {
      const members = pieces.flatMap((p, i) => (labels[i] === cluster ? [i] : []));
      const weights = members.map((i) => pieces[i].frames);
      return {
        speaker,
        embedding: meanVoice(
          members.map((i) => embeddings[i]),
          weights,
        ),
        speechS: weights.reduce((a, b) => a + b, 0) * frameS,
      };
    });
    return { result, voices };
  }

  /**
   * Runs the segmentation over all windows in batches: per window, per frame, the bitmask of active local speakers,
   * and whether the frame is a pause (1) or not (0).
   */
  private async segment(audio: Float32Array, starts: number[], onProgress?: (fraction: number) => void): Promise<{ activity: Uint8Array; pause: Uint8Array }> {
    const seg = this.segmentation;
    const W = seg.windowSamples;
    const F = seg.framesPerWindow;
    const C = seg.powerset.length;
    const activity = new Uint8Array(starts.length * F);
    const pause = new Uint8Array(starts.length * F);
    const logPause = Math.log(this.tuning.pauseProbability);
    const batch = new Float32Array(Math.min(this.tuning.batchSize, starts.length) * W);
    for (let first = 0; first < starts.length; first += this.tuning.batchSize) {
      const n = Math.min(this.tuning.batchSize, starts.length - first);
      const input = batch.subarray(0, n * W);
      input.fill(0);
      for (let i = 0; i < n; i++) {
        const s = starts[first + i];
        input.set(audio.subarray(s, Math.min(s + W, audio.length)), i * W);
      }
      const logProbs = await seg.run(input, n);
      for (let i = 0; i < n; i++) {
        powersetToActivity(logProbs.subarray(i * F * C, (i + 1) * F * C), F, seg.powerset, activity.subarray((first + i) * F, (first + i + 1) * F));
        for (let f = 0; f < F; f++) pause[(first + i) * F + f] = logProbs[(i * F + f) * C] >= logPause ? 1 : 0;
      }
      onProgress?.((0.8 * (first + n)) / starts.length);
    }
    return { activity, pause };
  }

  /**
   * Cuts each track's non-overlapped speech into pieces of at most pieceS seconds, ending the pieces at every pause
   * of pieceGapS or more: the segmentation sometimes gives two similar voices one local speaker in turn, and a
   * pause is where such a turn changes. Every frame is judged by the window whose centre is closest to it (the
   * segmentation is least reliable near window edges).
   */
  private pieces(activity: Uint8Array, pause: Uint8Array, offsets: number[], trackOfNode: Int32Array, audioFrames: number): Piece[] {
    const seg = this.segmentation;
    const F = seg.framesPerWindow;
    const L = seg.localSpeakers;
    const frameS = seg.frameStep / seg.sampleRate;
    const pieceFrames = Math.round(this.tuning.pieceS / frameS);
    const gapFrames = Math.round(this.tuning.pieceGapS / frameS);
    let pauseRun = 0;
    const open = new Map<number, Piece>();
    const done: Piece[] = [];
    const centre = (w: number): number => offsets[w] + F / 2;
    for (let w = 0; w < offsets.length; w++) {
      const from = w === 0 ? 0 : Math.ceil((centre(w - 1) + centre(w)) / 2);
      const to = Math.min(audioFrames, w === offsets.length - 1 ? offsets[w] + F : Math.ceil((centre(w) + centre(w + 1)) / 2));
      for (let g = Math.max(from, offsets[w]); g < to; g++) {
        const bits = activity[w * F + (g - offsets[w])];
        pauseRun = pause[w * F + (g - offsets[w])] ? pauseRun + 1 : 0;
        if (pauseRun === gapFrames) {
          done.push(...open.values());
          open.clear();
        }
        if (POPCOUNT[bits] !== 1 || pauseRun > 0) continue;
        const track = trackOfNode[w * L + (31 - Math.clz32(bits))];
        let piece = open.get(track);
        if (!piece) {
          piece = { track, runs: [], frames: 0, firstFrame: g, lastFrame: g };
          open.set(track, piece);
        }
        const last = piece.runs[piece.runs.length - 1];
        if (last && last[1] === g) last[1] = g + 1;
        else piece.runs.push([g, g + 1]);
        piece.frames++;
        piece.lastFrame = g;
        if (piece.frames >= pieceFrames) {
          done.push(piece);
          open.delete(track);
        }
      }
    }
    done.push(...open.values());
    done.sort((x, y) => x.firstFrame - y.firstFrame);
    // Short pieces give unreliable embeddings; a track whose pieces are all short still gets its longest one.
    const minFrames = this.tuning.minPieceS / frameS;
    const longest = new Map<number, Piece>();
    for (const p of done) if (p.frames > (longest.get(p.track)?.frames ?? 0)) longest.set(p.track, p);
    return done.filter((p) => p.frames >= minFrames || (longest.get(p.track) === p && p.frames >= minFrames / 2));
  }

  /** Speakers of the pieces, weighted by their frames. */
  private cluster(embeddings: Float32Array[], pieces: Piece[], limits: SpeakerLimits): Int32Array {
    const weights = pieces.map((p) => p.frames);
    return clusterVoices(embeddings, weights, limits, this.embedder.clustering, this.tuning.minClusterShare);
  }

  /**
   * Per global frame: the segmentation's speaker count (mean over windows, rounded), and that many clusters, led by
   * the cluster of the frame's own piece and then by each cluster's share of the windows that hear it there (so
   * overlapped speech gets its second speaker from the windows' local speakers).
   */
  private reconstruct(
    activity: Uint8Array,
    offsets: number[],
    trackOfNode: Int32Array,
    clusterAt: (track: number, frame: number) => number,
    ownCluster: Int32Array,
    K: number,
  ): FrameTurn[] {
    const F = this.segmentation.framesPerWindow;
    const L = this.segmentation.localSpeakers;
    const G = ownCluster.length;
    if (K === 0) return [];
    const score = new Float32Array(G * K);
    const speakers = new Float32Array(G);
    const cover = new Float32Array(G);
    for (let w = 0; w < offsets.length; w++) {
      for (let j = 0; j < F; j++) {
        const g = offsets[w] + j;
        if (g >= G) break;
        const bits = activity[w * F + j];
        cover[g] += 1;
        speakers[g] += POPCOUNT[bits];
        let seen = 0;
        for (let k = 0; k < L; k++) {
          if (!(bits & (1 << k))) continue;
          const track = trackOfNode[w * L + k];
          const c = track >= 0 ? clusterAt(track, g) : -1;
          if (c >= 0 && !(seen & (1 << c))) {
            seen |= 1 << c;
            score[g * K + c] += 1;
          }
        }
      }
    }
    const active = new Uint8Array(G * K);
    const order = Array.from({ length: K }, (_, c) => c);
    for (let g = 0; g < G; g++) {
      if (cover[g] === 0) continue;
      const own = ownCluster[g];
      if (own >= 0) score[g * K + own] += cover[g] + 1;
      const count = Math.max(Math.round(speakers[g] / cover[g]), own >= 0 ? 1 : 0);
      if (count === 0) continue;
      order.sort((a, b) => score[g * K + b] - score[g * K + a]);
      for (let i = 0; i < Math.min(count, K); i++) if (score[g * K + order[i]] > 0) active[g * K + order[i]] = 1;
    }
    const turns: FrameTurn[] = [];
    for (let c = 0; c < K; c++) {
      let runStart = -1;
      for (let g = 0; g <= G; g++) {
        const on = g < G && active[g * K + c] === 1;
        if (on && runStart < 0) runStart = g;
        if (!on && runStart >= 0) {
          turns.push({ cluster: c, startFrame: runStart, endFrame: g });
          runStart = -1;
        }
      }
    }
    return turns;
  }

  private result(frameTurns: FrameTurn[], durationS: number, labelOf: Map<number, string>): DiarizationResult {
    const seg = this.segmentation;
    const frameS = seg.frameStep / seg.sampleRate;
    const firstCentre = seg.frameCentre / seg.sampleRate;
    const turns: SpeakerTurn[] = speakerTurns(
      frameTurns,
      {
        frameStartS: (g) => Math.max(0, firstCentre + (g - 0.5) * frameS),
        durationS,
        minDurationOnS: this.tuning.minDurationOnS,
        minDurationOffS: this.tuning.minDurationOffS,
      },
      labelOf,
    );
    const totals = new Map<string, number>();
    for (const turn of turns) totals.set(turn.speaker, (totals.get(turn.speaker) ?? 0) + turn.end - turn.start);
    return {
      num_speakers: totals.size,
      turns,
      speakers: [...totals].map(([id, total]) => ({ id, total_s: Math.round(total * 1000) / 1000 })),
      embedder: this.embedder.name,
    };
  }
}
