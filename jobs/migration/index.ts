// The /migration feature's public face: what handlers and other features may use. The plans and
// their hashes, the store's reads, the cards, and the request operations (each a store transition
// and its follow-up). The processor (job.ts) is for the job registry only.

export { type Confirm, decisionElements } from './cards.js';
export { MIGRATION_QUEUE, type MigrationData } from './data.js';
export { cleanupSteps, readCleanupGate } from './gate.js';
export { type MigrationOverview, migrationOverview, migrationSnapshot } from './metrics.js';
export { CRON_ORDER } from './phase4.js';
export {
  kindOf,
  migrationConfig,
  REQUEST_ID,
  type RequestKind,
  requestIdFor,
  requestLabel,
} from './plan.js';
export {
  type ApproveOutcome,
  approveRequest,
  cancelRequestsOfWindow,
  coreOf,
  cutoverWithFollowUps,
  type RollbackOutcome,
  rejectRequest,
  retryRequest,
  rollbackCommand,
  rollbackRequest,
  uncutWithFollowUps,
  type WindowCancelDeps,
  windowEndChangeRefusal,
} from './requests.js';
export {
  cutovers,
  getRequest,
  type MigrationRequest,
  type MigrationStore,
  openRequest,
  readRequest,
} from './store.js';
