// The /ddb-export feature's public face: the job kind for the registry, and what the handler uses
// (the queue, its data, its ids, the config and the table-name rule). Everything else is internal.

export {
  cardTtlSeconds,
  DDB_EXPORT_QUEUE,
  type DdbEngine,
  type DdbExportConfig,
  type DdbExportData,
  type DdbExportResult,
  ddbDedupKey,
  ddbExportConfig,
  ddbJobId,
  engineName,
} from './data.js';
export { TABLE_NAME } from './definition.js';
export { ddbExportJob } from './job.js';
