/** `models:pull -- wespeaker-resnet34` against a local stand-in for the Hugging Face Hub, then found by the diarizer. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDING_MODELS, pullModel, resolveModelName } from '../../src/engine/models/model-pull';
import { loadDiarizer } from '../../src/engine/models/diarization-models';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { embeddingGraph } from '../support/embedding-graph';

const REPO = EMBEDDING_MODELS['wespeaker-resnet34'];
const MODEL = embeddingGraph('time-major', { input: 'feats', output: 'embs' });
const CONFIG = Buffer.from('{"model_type":"wespeaker"}');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

let hub: http.Server;
let endpoint = '';
const requests: string[] = [];

beforeAll(async () => {
  hub = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    if (url.pathname === `/api/models/${REPO}/revision/main`) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          sha: 'a'.repeat(40),
          siblings: [
            { rfilename: 'README.md', size: 10, blobId: 'b'.repeat(40) },
            { rfilename: 'config.json', size: CONFIG.length, blobId: gitSha1(CONFIG) },
            { rfilename: 'onnx/model.onnx', size: MODEL.length, blobId: 'c'.repeat(40), lfs: { sha256: sha256(MODEL), size: MODEL.length } },
          ],
        }),
      );
    } else if (url.pathname === `/${REPO}/resolve/${'a'.repeat(40)}/onnx/model.onnx`) {
      res.writeHead(302, { location: '/cdn/model' }).end();
    } else if (url.pathname === '/cdn/model') {
      res.end(Buffer.from(MODEL));
    } else if (url.pathname === `/${REPO}/resolve/${'a'.repeat(40)}/config.json`) {
      res.end(CONFIG);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => hub.close(r)));

test('wespeaker-resnet34 is pulled into embedding/, verified, and then used as the speaker embedder', async () => {
  expect(resolveModelName('wespeaker-resnet34')).toEqual({ repo: REPO, folder: 'embedding/wespeaker-resnet34' });
  const modelsDir = mkdtempSync(join(tmpdir(), 'earshot-pull-embedding-'));
  const result = await pullModel({ name: 'wespeaker-resnet34', modelsDir, endpoint });
  expect(result.dir).toBe(join(modelsDir, 'embedding/wespeaker-resnet34'));
  expect(result.files.map((f) => f.path).sort()).toEqual(['config.json', 'onnx/model.onnx']);
  expect(readdirSync(join(modelsDir, 'embedding'))).toEqual(['wespeaker-resnet34']);
  expect(requests).not.toContain(`/${REPO}/resolve/${'a'.repeat(40)}/README.md`);

  const registry = new ModelRegistry(modelsDir);
  const diarizer = await loadDiarizer({
    segmentation: registry.chosen('speaker-segmentation'),
    embedding: registry.chosen('speaker-embedding'),
    runtime: { device: 'cpu', intraOpThreads: 1 },
  });
  expect(diarizer.embedderName).toBe('wespeaker-resnet34');

  const again = await pullModel({ name: 'wespeaker-resnet34', modelsDir, endpoint });
  expect(again.files).toEqual([]);
});
