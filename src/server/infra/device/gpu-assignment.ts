/** Which accelerator one process of a PM2 cluster takes: instance index modulo the GPU list. */
export interface DeviceAssignment {
  /** What onnxruntime gets: "cpu" or "cuda:<ordinal as onnxruntime sees it>". */
  device: string;
  /** One line for the start-up log. */
  description: string;
}

export interface DeviceEnvironment {
  /** "cpu", "cuda:N" (taken as given) or "cuda" (assigned here). */
  device: string;
  gpuCount: number;
  /** GPU_IDS: physical ids to spread over, e.g. "0,2". */
  gpuIds?: string;
  /** CUDA_VISIBLE_DEVICES: CUDA renumbers these 0..n-1, so the ordinal is the index into this list. */
  cudaVisibleDevices?: string;
  /** NODE_APP_INSTANCE, else pm_id: PM2's number for this process. */
  instance?: string;
}

function ids(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-1');
}

export function assignDevice(env: DeviceEnvironment): DeviceAssignment {
  const instance = Number(env.instance) || 0;
  if (env.device !== 'cuda') return { device: env.device, description: `instance ${instance} uses ${env.device} (set explicitly)` };
  const visible = ids(env.cudaVisibleDevices);
  if (visible.length) {
    const ordinal = instance % visible.length;
    return {
      device: `cuda:${ordinal}`,
      description: `instance ${instance} took cuda:${ordinal} = GPU ${visible[ordinal]} of CUDA_VISIBLE_DEVICES=${visible.join(',')}`,
    };
  }
  const listed = ids(env.gpuIds);
  if (listed.length) {
    const gpu = listed[instance % listed.length];
    return { device: `cuda:${gpu}`, description: `instance ${instance} took cuda:${gpu} of GPU_IDS=${listed.join(',')}` };
  }
  const gpu = instance % env.gpuCount;
  return { device: `cuda:${gpu}`, description: `instance ${instance} took cuda:${gpu} of GPU_COUNT=${env.gpuCount}` };
}
