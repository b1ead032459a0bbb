/**
 * `models:pull` of the two diarization models that are also built in, against local stand-ins for the Hugging Face
 * Hub (pyannote-segmentation-3.0) and for the sherpa-onnx release assets (campplus-zh-en); the diarizer then uses
 * what was pulled in place of the built-in copy.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDiarizer } from '../../src/engine/models/diarization-models';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { pullModel, RELEASE_MODELS, resolveModelName, SEGMENTATION_MODELS } from '../../src/engine/models/model-pull';

const SEGMENTATION_REPO = SEGMENTATION_MODELS['pyannote-segmentation-3.0'];
const SEGMENTATION = readFileSync(join(__dirname, '../../assets/diarization/segmentation/pyannote-segmentation-3.0.int8.onnx'));
const CAMPLUS = RELEASE_MODELS['campplus-zh-en'];
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: http.Server;
let base = '';
/** What the release stand-in serves: the right size, or one byte short. */
let releaseBytes = CAMPLUS.bytes;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === `/hub/api/models/${SEGMENTATION_REPO}/revision/main`) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          sha: 'd'.repeat(40),
          siblings: [
            {
              rfilename: 'onnx/model.onnx',
              size: SEGMENTATION.length,
              blobId: 'e'.repeat(40),
              lfs: { sha256: sha256(SEGMENTATION), size: SEGMENTATION.length },
            },
            { rfilename: 'onnx/model_fp16.onnx', size: 3, blobId: 'f'.repeat(40) },
          ],
        }),
      );
    } else if (url.pathname === `/hub/${SEGMENTATION_REPO}/resolve/${'d'.repeat(40)}/onnx/model.onnx`) {
      res.end(SEGMENTATION);
    } else if (url.pathname === `/releases/${CAMPLUS.path}`) {
      res.end(Buffer.alloc(releaseBytes, 7));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => server.close(r)));

test('pyannote-segmentation-3.0 is pulled into segmentation/, verified, and replaces the built-in model', async () => {
  expect(resolveModelName('pyannote-segmentation-3.0')).toEqual({ repo: SEGMENTATION_REPO, folder: 'segmentation/pyannote-segmentation-3.0' });
  const modelsDir = mkdtempSync(join(tmpdir(), 'earshot-pull-segmentation-'));
  const result = await pullModel({ name: 'pyannote-segmentation-3.0', modelsDir, endpoint: `${base}/hub` });
  expect(result.files.map((f) => f.path)).toEqual(['onnx/model.onnx']);
  const registry = new ModelRegistry(modelsDir);
  const chosen = registry.chosen('speaker-segmentation');
  expect(chosen).toMatchObject({
    name: 'pyannote-segmentation-3.0',
    source: 'models_dir',
    path: join(modelsDir, 'segmentation/pyannote-segmentation-3.0/onnx/model.onnx'),
  });
  const diarizer = await loadDiarizer({ segmentation: chosen, embedding: registry.chosen('speaker-embedding'), runtime: { device: 'cpu', intraOpThreads: 1 } });
  const silence = await diarizer.diarize(new Float32Array(32000), { numSpeakers: null, minSpeakers: null, maxSpeakers: null });
  expect(silence.turns).toEqual([]);
});

test('campplus-zh-en comes from the release URL into embedding/, checked against its published size', async () => {
  expect(resolveModelName('campplus-zh-en')).toEqual({ repo: 'campplus-zh-en', folder: 'embedding/campplus-zh-en' });
  const modelsDir = mkdtempSync(join(tmpdir(), 'earshot-pull-campplus-'));
  releaseBytes = CAMPLUS.bytes - 1;
  await expect(pullModel({ name: 'campplus-zh-en', modelsDir, releasesEndpoint: `${base}/releases` })).rejects.toThrow(/Size mismatch/);
  expect(new ModelRegistry(modelsDir).chosen('speaker-embedding')?.source).toBe('builtin');

  releaseBytes = CAMPLUS.bytes;
  const result = await pullModel({ name: 'campplus-zh-en', modelsDir, releasesEndpoint: `${base}/releases` });
  expect(result.files).toEqual([{ path: '3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx', bytes: CAMPLUS.bytes, sha256: expect.any(String) }]);
  expect(new ModelRegistry(modelsDir).chosen('speaker-embedding')).toMatchObject({ name: 'campplus-zh-en', source: 'models_dir', bytes: CAMPLUS.bytes });
  expect((await pullModel({ name: 'campplus-zh-en', modelsDir, releasesEndpoint: `${base}/releases` })).files).toEqual([]);
});
