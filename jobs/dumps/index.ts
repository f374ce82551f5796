// The dumps feature's public face: what handlers, the bot and other features may use. The queue and
// its data, the pure check helpers, the store's reads and the acknowledgement, the alert card and the
// byte format. The processor (job.ts) is for the job registry only.

export { alertCard, formatBytes } from './alert-card.js';
export { addDays, dayOf, dumpJob, HISTORY_DAYS, median, renderKey } from './check.js';
export { DUMPS_QUEUE, type DumpsData } from './data.js';
export {
  ALERT_ID,
  ackAlert,
  type DumpAlert,
  type DumpStore,
  dumpHealth,
  type FailedCheck,
  getAlert,
  getLastCheck,
  latestFailure,
  openAlerts,
} from './store.js';
