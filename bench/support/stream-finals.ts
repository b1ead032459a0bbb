/** Streams audio over /v1/ws as fast as the socket takes it and collects the final segments. */
import WebSocket from 'ws';
import type { StreamServerMessage, StreamSegment } from '../../libs/contracts/process';

export interface StreamedFinals {
  /** The final segments as they were sent. */
  sent: StreamSegment[];
  /** The same segments with every relabel frame applied: the speakers the stream ended with. */
  relabelled: StreamSegment[];
  relabels: number;
}

/** `start` is the first frame; errors are reported on stderr under `tag`. Endpointing does not depend on the pace. */
export async function streamFinals(url: string, start: object, samples: Float32Array, tag: string): Promise<StreamedFinals> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const sent: StreamSegment[] = [];
  const speakers = new Map<number, string | undefined>();
  let relabels = 0;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as StreamServerMessage;
    if (m.type === 'final') {
      sent.push(m.segment);
      speakers.set(m.segment.id, m.segment.speaker);
    }
    if (m.type === 'relabel') {
      speakers.set(m.segment_id, m.speaker);
      relabels++;
    }
    if (m.type === 'error') process.stderr.write(`[${tag}] error ${m.code}: ${m.message}\n`);
  });
  const closed = new Promise((r) => ws.on('close', r));
  await new Promise((r) => ws.on('open', r));
  ws.send(JSON.stringify(start));
  const pcm = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s * 32768))), 2 * i));
  for (let at = 0; at < pcm.length; at += 3200) ws.send(pcm.subarray(at, at + 3200));
  ws.send(JSON.stringify({ type: 'end' }));
  await closed;
  return { sent, relabelled: sent.map((s) => ({ ...s, speaker: speakers.get(s.id) })), relabels };
}
