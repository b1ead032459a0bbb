/**
 * PM2 cluster: one Earshot worker per GPU. Each instance gets NODE_APP_INSTANCE = 0..n-1, and with DEVICE=cuda
 * it takes GPU (NODE_APP_INSTANCE mod GPU_COUNT). On CPU-only machines run one instance (the default).
 *   pm2 start ecosystem.config.js                      # CPU, one instance
 *   GPU_COUNT=4 DEVICE=cuda pm2 start ecosystem.config.js
 */
const gpuCount = Number(process.env.GPU_COUNT || 1);
const device = process.env.DEVICE || 'cpu';

module.exports = {
  apps: [
    {
      name: 'earshot',
      script: 'dist/src/main.js',
      exec_mode: 'cluster',
      instances: device.startsWith('cuda') ? gpuCount : 1,
      instance_var: 'NODE_APP_INSTANCE',
      kill_timeout: 30000,
      max_memory_restart: process.env.PM2_MAX_MEMORY || '6G',
      env: {
        NODE_ENV: 'production',
        DEVICE: device,
        GPU_COUNT: String(gpuCount),
      },
    },
  ],
};
