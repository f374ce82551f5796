// Queue names only: the bot imports this to enqueue and list jobs without loading any processor.
import { RESET_PASSWORD_QUEUE } from './reset-password.js';

export const QUEUE_NAMES: string[] = [RESET_PASSWORD_QUEUE];
