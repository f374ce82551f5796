// The runbook's follow-up for the person who asked for the backup (seed 003, "Follow up"), sent once
// when every table of the command is done.
import { allTerminal, cardKey, readCard } from '../progress-card.js';
import { type CardCtx, store } from './card.js';
import type { DdbEngine, DdbExportConfig, DdbExportData } from './data.js';

const DEFAULT_MANUAL: Record<DdbEngine, string> = {
  datapipeline:
    'https://docs.aws.amazon.com/datapipeline/latest/DeveloperGuide/dp-importexport-ddb-part1.html',
  native: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.HowItWorks.html',
};

/** The follow-up's text: which tables, how, where the backups are and how to restore them. */
export function followUpText(
  cfg: DdbExportConfig,
  engine: DdbEngine,
  done: string[],
  failed: string[],
): string {
  const list = done.map((t) => `\`${t}\``).join(', ');
  const how = engine === 'native' ? "used DynamoDB's export to S3" : 'used a Data Pipeline';
  const which = failed.length
    ? `of the tables ${list} (${failed.map((t) => `\`${t}\``).join(', ')} could not be exported: see the progress card)`
    : `of all the requested tables (${list})`;
  const text = [
    `I have created a backup ${which} and ${how} to have that backup created in the "${cfg.targetAccount}" account.`,
    '',
    'In order to restore the data to your tables, follow this manual:',
    '',
    cfg.restoreManualUrl ?? DEFAULT_MANUAL[engine],
    '',
    `The bucket name which holds all the backups is called "${cfg.bucket}" (you should have read access to it). ` +
      `Each table's backup is under backups/<table>/ in it, one folder per export.`,
    '',
    'Good luck!',
  ];
  return `:white_check_mark: Export done. The follow-up for whoever asked for the backup:\n${text.map((l) => `>${l}`).join('\n')}`;
}

/** Once every table of the command is done and at least one succeeded, the requester gets the follow-up, once. */
export async function followUpWhenAllDone(
  ctx: CardCtx,
  d: DdbExportData,
  cfg: DdbExportConfig,
): Promise<void> {
  try {
    const card = await readCard(store(ctx), d.requestId);
    if (!card || !allTerminal(card)) return;
    const names = card.meta.items;
    const done = names.filter((n) => card.items.get(n)?.state === 'finished');
    const failed = names.filter((n) => card.items.get(n)?.state === 'failed');
    if (!done.length) return;
    if (!(await ctx.deps.redis.hsetnx(cardKey(ctx.deps.prefix, d.requestId), 'followup', '1'))) return;
    await ctx.deps.notifier.post(d.requester, followUpText(cfg, d.engine, done, failed));
  } catch (err) {
    ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not send the follow-up');
  }
}
