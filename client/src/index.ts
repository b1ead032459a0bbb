export {
  EarshotClient,
  type CallOptions,
  type EarshotClientOptions,
  type EnrolOptions,
  type ListJobsQuery,
  type SubmitOptions,
  type WaitOptions,
} from './client.js';
export { type AudioInput } from './audio-body.js';
export { EarshotApiError, EarshotConnectionError, EarshotError, EarshotJobError, EarshotTimeoutError } from './errors.js';
export { type StreamEvent, type StreamOptions } from './stream.js';
export * from '../../libs/contracts/process.js';
