/**
 * PM2 (a dependency: `npm run start:cluster` builds, then runs `pm2-runtime start ecosystem.config.js` in the
 * foreground; `npx pm2 start ecosystem.config.js` runs it as a daemon): one Earshot process per GPU, or a
 * CPU-sensible count without one.
 *   npm run start:cluster                                           # CPU: one process per 4 cores
 *   DEVICE=cuda GPU_IDS=0,1,2,3 npm run start:cluster               # one process per listed GPU
 *   DEVICE=cuda CUDA_VISIBLE_DEVICES=2,3 npm run start:cluster
 * Each process takes GPU (NODE_APP_INSTANCE mod the GPU list) and logs which (src/server/infra/device/gpu-assignment.ts).
 * With REDIS_URL, ROLE=api / ROLE=worker split HTTP nodes from job workers; the embedded SQLite backend is for
 * processes on one host (they share DATA_DIR).
 */
const { cpus } = require('node:os');

const device = process.env.DEVICE || 'cpu';
const gpuList = (process.env.CUDA_VISIBLE_DEVICES || process.env.GPU_IDS || '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '' && s !== '-1');
const gpuCount = gpuList.length || Number(process.env.GPU_COUNT || 1);
// On CPU every onnxruntime session uses ORT_INTRA_OP_THREADS cores: a few processes of 4 threads each beat one
// process of all cores for throughput of many jobs.
const cpuThreads = Number(process.env.ORT_INTRA_OP_THREADS || 4);
const cpuInstances = Math.max(1, Math.floor(cpus().length / cpuThreads));
const shutdownTimeoutS = Number(process.env.SHUTDOWN_TIMEOUT_S || 30);

module.exports = {
  apps: [
    {
      name: process.env.ROLE === 'worker' ? 'earshot-worker' : 'earshot',
      script: 'dist/src/main.js',
      exec_mode: 'cluster',
      instances: Number(process.env.INSTANCES) || (device === 'cuda' ? gpuCount : cpuInstances),
      instance_var: 'NODE_APP_INSTANCE',
      // SIGTERM lets running jobs finish for SHUTDOWN_TIMEOUT_S before they go back to the queue.
      kill_timeout: (shutdownTimeoutS + 10) * 1000,
      max_memory_restart: process.env.PM2_MAX_MEMORY || '6G',
      env: {
        NODE_ENV: 'production',
        DEVICE: device,
        GPU_COUNT: String(gpuCount),
        ORT_INTRA_OP_THREADS: device === 'cuda' ? process.env.ORT_INTRA_OP_THREADS || '0' : String(cpuThreads),
      },
    },
  ],
};
