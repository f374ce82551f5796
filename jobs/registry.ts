// Queue names only: the bot imports this to enqueue and list jobs without loading any processor.
import { DDB_EXPORT_QUEUE } from './ddb-export.js';
import { RESET_PASSWORD_QUEUE } from './reset-password.js';

export const QUEUE_NAMES: string[] = [RESET_PASSWORD_QUEUE, DDB_EXPORT_QUEUE];
