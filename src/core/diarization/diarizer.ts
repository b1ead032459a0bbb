import { agglomerativeCluster } from '../../../libs/cluster/agglomerative';
import type { DiarizationResult, SpeakerTurn } from '../../../libs/contracts/process';
import type { SampleRange, SegmentationModel, SpeakerEmbedder } from './models';
import { linkLocalSpeakers } from './tracks';
import { type FrameTurn, speakerTurns } from './turns';

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
  /** Seconds of one track's non-overlapped speech per embedding. */
  pieceS: number;
  /** Shorter leftovers of a track are embedded only if the track has no other piece. */
  minPieceS: number;
  /** Clusters with less than this share of the embedded speech join their nearest neighbour. */
  minClusterShare: number;
  /** Extra distance between tracks heard at the same time in one window. */
  cannotLinkPenalty: number;
  minDurationOnS: number;
  minDurationOffS: number;
}

export const DEFAULT_TUNING: DiarizerTuning = {
  stepS: 1,
  batchSize: 8,
  linkIou: 0.5,
  pieceS: 3,
  minPieceS: 0.5,
  minClusterShare: 0.05,
  cannotLinkPenalty: 1,
  minDurationOnS: 0,
  minDurationOffS: 0.2,
};

/** A few seconds of one track's non-overlapped speech. */
interface Piece {
  track: number;
  ranges: SampleRange[];
  samples: number;
}

/**
 * The cluster of a track at a frame: that of the track's piece whose middle is nearest (−1 for a track without
 * pieces). A track's pieces come in time order.
 */
function piecewiseClusters(pieces: Piece[], labels: number[], trackCount: number, frameStep: number): (track: number, frame: number) => number {
  const byTrack = Array.from({ length: trackCount }, () => ({ middles: [] as number[], clusters: [] as number[] }));
  pieces.forEach((p, i) => {
    byTrack[p.track].middles.push((p.ranges[0][0] + p.ranges[p.ranges.length - 1][1]) / 2 / frameStep);
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
 * The pyannote 3.x recipe over any segmentation model and speaker embedder: sliding-window segmentation, local
 * speakers linked into tracks across overlapping windows, one embedding per few seconds of each track's
 * non-overlapped speech, clustering of tracks, and reconstruction of per-frame speakers with the segmentation's
 * speaker count (so overlapped speech keeps both speakers).
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

  async diarize(audio: Float32Array, limits: SpeakerLimits, onProgress?: (fraction: number) => void): Promise<DiarizationResult> {
    const seg = this.segmentation;
    const t = this.tuning;
    const F = seg.framesPerWindow;
    const L = seg.localSpeakers;
    const sr = seg.sampleRate;
    const starts = windowStarts(audio.length, seg.windowSamples, Math.round(t.stepS * sr));
    const activity = await this.segment(audio, starts, onProgress);
    const offsets = starts.map((s) => Math.round(s / seg.frameStep));
    // Frames past the end of the audio (a short file's padded window) are silence.
    const audioFrames = Math.min(offsets[offsets.length - 1] + F, Math.ceil(audio.length / seg.frameStep));

    const tracks = linkLocalSpeakers(activity, offsets, F, L, t.linkIou);
    const pieces = this.pieces(activity, offsets, tracks.ofNode, audio.length, audioFrames);
    const embeddings = await this.embedder.embed(audio, pieces.map((p) => p.ranges));
    onProgress?.(0.95);

    // The units clustered are tracks (each the mean direction of its pieces). When there are fewer tracks than the
    // request demands speakers, the segmentation has missed changes of voice, and each piece is a unit of its own.
    const tracksWithPieces = new Set(pieces.map((p) => p.track)).size;
    const required = Math.max(limits.numSpeakers ?? 0, limits.minSpeakers ?? 0);
    const unitOfPiece = tracksWithPieces >= required ? pieces.map((p) => p.track) : pieces.map((_, i) => i);
    const units = new Map<number, { sum: Float32Array; seconds: number; tracks: Set<number> }>();
    pieces.forEach((p, i) => {
      const e = embeddings[i];
      const unit = units.get(unitOfPiece[i]) ?? { sum: new Float32Array(e.length), seconds: 0, tracks: new Set<number>() };
      const norm = Math.hypot(...e) || 1;
      for (let d = 0; d < e.length; d++) unit.sum[d] += e[d] / norm;
      unit.seconds += p.samples / sr;
      unit.tracks.add(p.track);
      units.set(unitOfPiece[i], unit);
    });
    const unitIds = [...units.keys()];
    const unitIndex = new Map(unitIds.map((u, i) => [u, i]));
    const unitsOfTrack = new Map<number, number[]>();
    unitIds.forEach((u, i) => {
      for (const track of units.get(u)!.tracks) unitsOfTrack.set(track, [...(unitsOfTrack.get(track) ?? []), i]);
    });
    const cannotLink: Array<[number, number]> = [];
    for (const [a, b] of tracks.concurrent) {
      for (const i of unitsOfTrack.get(a) ?? []) for (const j of unitsOfTrack.get(b) ?? []) cannotLink.push([i, j]);
    }
    const labels = agglomerativeCluster(
      unitIds.map((u) => units.get(u)!.sum),
      {
        threshold: this.embedder.clusterThreshold,
        numClusters: limits.numSpeakers ?? undefined,
        minClusters: limits.minSpeakers ?? undefined,
        maxClusters: limits.maxSpeakers ?? undefined,
        weights: unitIds.map((u) => units.get(u)!.seconds),
        minClusterShare: limits.numSpeakers ? 0 : t.minClusterShare,
        cannotLink,
        cannotLinkPenalty: t.cannotLinkPenalty,
      },
    );
    const clusters = labels.length > 0 ? Math.max(...labels) + 1 : 0;
    const clusterAt = piecewiseClusters(pieces, pieces.map((_, i) => labels[unitIndex.get(unitOfPiece[i])!]), tracks.count, seg.frameStep);

    const frameTurns = this.reconstruct(activity, offsets, tracks.ofNode, clusterAt, clusters, audioFrames);
    onProgress?.(1);
    return this.result(frameTurns, audio.length / sr);
  }

  /** Runs the segmentation over all windows in batches: per window, per frame, the bitmask of active local speakers. */
  private async segment(audio: Float32Array, starts: number[], onProgress?: (fraction: number) => void): Promise<Uint8Array> {
    const seg = this.segmentation;
    const W = seg.windowSamples;
    const F = seg.framesPerWindow;
    const C = seg.powerset.length;
    const activity = new Uint8Array(starts.length * F);
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
      }
      onProgress?.((0.8 * (first + n)) / starts.length);
    }
    return activity;
  }

  /**
   * Cuts each track's non-overlapped speech into pieces of ~pieceS seconds. Every frame is judged by the window
   * whose centre is closest to it (the segmentation is least reliable near window edges).
   */
  private pieces(
    activity: Uint8Array,
    offsets: number[],
    trackOfNode: Int32Array,
    totalSamples: number,
    audioFrames: number,
  ): Piece[] {
    const seg = this.segmentation;
    const F = seg.framesPerWindow;
    const L = seg.localSpeakers;
    const step = seg.frameStep;
    const pieceSamples = this.tuning.pieceS * seg.sampleRate;
    const minPieceSamples = this.tuning.minPieceS * seg.sampleRate;
    const open = new Map<number, { ranges: Array<[number, number]>; samples: number }>();
    const done: Piece[] = [];
    const hasPiece = new Set<number>();
    const centre = (w: number): number => offsets[w] + F / 2;
    for (let w = 0; w < offsets.length; w++) {
      const from = w === 0 ? 0 : Math.ceil((centre(w - 1) + centre(w)) / 2);
      const to = Math.min(audioFrames, w === offsets.length - 1 ? offsets[w] + F : Math.ceil((centre(w) + centre(w + 1)) / 2));
      for (let g = Math.max(from, offsets[w]); g < to; g++) {
        const bits = activity[w * F + (g - offsets[w])];
        if (POPCOUNT[bits] !== 1) continue;
        const track = trackOfNode[w * L + (31 - Math.clz32(bits))];
        const a = Math.min(g * step + seg.frameCentre - step / 2, totalSamples);
        const b = Math.min(a + step, totalSamples);
        if (b <= a) continue;
        const piece = open.get(track) ?? { ranges: [], samples: 0 };
        open.set(track, piece);
        const last = piece.ranges[piece.ranges.length - 1];
        if (last && last[1] === a) last[1] = b;
        else piece.ranges.push([a, b]);
        piece.samples += b - a;
        if (piece.samples >= pieceSamples) {
          done.push({ track, ...piece });
          hasPiece.add(track);
          open.delete(track);
        }
      }
    }
    for (const [track, piece] of open) {
      if (piece.samples >= minPieceSamples || (!hasPiece.has(track) && piece.samples >= minPieceSamples / 2)) done.push({ track, ...piece });
    }
    return done;
  }

  /**
   * Per global frame: each cluster's share of the windows that hear it there, and the segmentation's speaker count
   * (mean over windows, rounded); the `count` highest clusters are active.
   */
  private reconstruct(
    activity: Uint8Array,
    offsets: number[],
    trackOfNode: Int32Array,
    clusterAt: (track: number, frame: number) => number,
    K: number,
    audioFrames: number,
  ): FrameTurn[] {
    const F = this.segmentation.framesPerWindow;
    const L = this.segmentation.localSpeakers;
    const G = audioFrames;
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
      const count = Math.round(speakers[g] / cover[g]);
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

  private result(frameTurns: FrameTurn[], durationS: number): DiarizationResult {
    const seg = this.segmentation;
    const frameS = seg.frameStep / seg.sampleRate;
    const firstCentre = seg.frameCentre / seg.sampleRate;
    const turns: SpeakerTurn[] = speakerTurns(frameTurns, {
      frameStartS: (g) => Math.max(0, firstCentre + (g - 0.5) * frameS),
      durationS,
      minDurationOnS: this.tuning.minDurationOnS,
      minDurationOffS: this.tuning.minDurationOffS,
    });
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
