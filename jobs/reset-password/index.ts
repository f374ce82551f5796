// The reset-password feature's public face: the job kind for the registry, the queue and its data
// for the handler, and the state key and its TTL for tests that check nothing outlives a reset.
export { RESET_PASSWORD_QUEUE, type ResetPasswordData, type ResetPasswordResult } from './data.js';
export { resetPasswordJob } from './job.js';
export { resetStateKey, retryHorizonMs } from './state.js';
