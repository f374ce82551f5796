// /dumps's arguments (pure): the subcommand and, for a check, the job's name (syntax only).
import { UserError } from '../../infra/errors.js';
import { quoteSlack } from '../../infra/slack-text.js';

export const USAGE = '`/dumps [status | check [job]]`';
const JOB_NAME = /^[\w.-]{1,100}$/;

export type DumpsArgs = { sub: 'status' } | { sub: 'check'; job?: string };

/** Parses `/dumps` arguments (syntax only; the job is looked up in execute). */
export function parseDumpsArgs(text: string): DumpsArgs {
  const [sub = 'status', ...rest] = text.split(/\s+/).filter(Boolean);
  if (sub === 'status' && rest.length === 0) return { sub: 'status' };
  if (sub === 'check' && rest.length <= 1) {
    const job = rest[0];
    if (job !== undefined && !JOB_NAME.test(job))
      throw new UserError('usage', `"${quoteSlack(job, 40)}" is not a dump job name`);
    return job === undefined ? { sub: 'check' } : { sub: 'check', job };
  }
  throw new UserError('usage', `unknown subcommand "${quoteSlack(text.trim(), 40)}"`);
}
