import { assignDevice } from '../../src/server/infra/device/gpu-assignment';
import { loadConfig } from '../../src/server/infra/config/app-config';

test('DEVICE=cuda: each PM2 instance takes instance mod the GPU count', () => {
  const devices = [0, 1, 2, 3, 4, 5].map((i) => assignDevice({ device: 'cuda', gpuCount: 4, instance: String(i) }).device);
  expect(devices).toEqual(['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'cuda:0', 'cuda:1']);
});

test('GPU_IDS spreads instances over the listed physical ids', () => {
  const devices = [0, 1, 2].map((i) => assignDevice({ device: 'cuda', gpuCount: 1, gpuIds: '2,5', instance: String(i) }));
  expect(devices.map((d) => d.device)).toEqual(['cuda:2', 'cuda:5', 'cuda:2']);
  expect(devices[1].description).toBe('instance 1 took cuda:5 of GPU_IDS=2,5');
});

test('CUDA_VISIBLE_DEVICES: onnxruntime sees the visible GPUs renumbered from 0, the log names the physical one', () => {
  const d = assignDevice({ device: 'cuda', gpuCount: 8, gpuIds: '0,1,2', cudaVisibleDevices: '4,6', instance: '3' });
  expect(d).toEqual({ device: 'cuda:1', description: 'instance 3 took cuda:1 = GPU 6 of CUDA_VISIBLE_DEVICES=4,6' });
});

test('cpu and explicit cuda:N are kept; a missing instance index counts as 0', () => {
  expect(assignDevice({ device: 'cpu', gpuCount: 4, instance: '3' }).device).toBe('cpu');
  expect(assignDevice({ device: 'cuda:7', gpuCount: 4, instance: '3' }).device).toBe('cuda:7');
  expect(assignDevice({ device: 'cuda', gpuCount: 4 }).device).toBe('cuda:0');
});

test('the config reads NODE_APP_INSTANCE or pm_id, and refuses a malformed GPU_IDS', () => {
  expect(loadConfig({ DEVICE: 'cuda', GPU_IDS: '1,3', pm_id: '1' }).engine.device).toBe('cuda:3');
  expect(loadConfig({ DEVICE: 'cuda', GPU_COUNT: '2', NODE_APP_INSTANCE: '5' }).engine.deviceAssignment).toBe('instance 5 took cuda:1 of GPU_COUNT=2');
  expect(() => loadConfig({ GPU_IDS: 'first,second' })).toThrow(/GPU_IDS="first,second"/);
});
