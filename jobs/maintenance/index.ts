// The maintenance feature's public face: what handlers and other features may use. A window and its
// notices, the store's reads (and the edit of a window's texts), and the operations that schedule,
// extend and cancel a window with their notices. The processor (job.ts) is for the job registry only.

export {
  MAINTENANCE_QUEUE,
  type NoticeData,
  type NoticeResult,
  noticeJobId,
  reminderLeads,
  SCHEDULE_DEDUP_MS,
} from './data.js';
export {
  type CancelResult,
  cancelWithNotice,
  extendWithNotice,
  type MaintenanceDeps,
  type ScheduleResult,
  scheduleDedupKey,
  scheduleWithNotice,
} from './operations.js';
export {
  activeWindows,
  type ExtendResult,
  editWindow,
  getWindow,
  type WindowStore,
  windowsEndingAfter,
} from './store.js';
export {
  type MaintenanceWindow,
  type NoticeKind,
  type NoticeSpec,
  noticeKey,
  WINDOW_ID,
  type WindowState,
  type WindowTexts,
} from './window.js';
