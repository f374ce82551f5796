// The /migration feature's public face: what handlers and other features may use (the plans, the
// store and the cards). The processor (job.ts) is for the job registry only.
export * from './cards.js';
export * from './gate.js';
export {
  approvalCardOf,
  CRON_ORDER,
  currentPlanHash,
  endRequest,
  MIGRATION_QUEUE,
  type MigrationData,
  runJobOptions,
  watchTimes,
} from './job.js';
export * from './plan.js';
export * from './store.js';
