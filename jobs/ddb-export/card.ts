// This table's line on the command's progress card (jobs/progress-card.ts).
import { type ItemState, refreshCard, setItem } from '../progress-card.js';
import type { DdbExportContext, DdbExportData } from './data.js';

/** What updating the progress card needs. */
export type CardCtx = Pick<DdbExportContext, 'deps' | 'log'>;

export function store(ctx: CardCtx) {
  return { redis: ctx.deps.redis, prefix: ctx.deps.prefix, clock: ctx.deps.clock };
}

/** Moves this table on the card and re-renders it; a Redis or Slack hiccup here never fails the export. */
export async function mark(ctx: CardCtx, d: DdbExportData, state: ItemState, detail?: string): Promise<void> {
  try {
    await setItem(store(ctx), d.requestId, d.table, { state, detail, startedAt: d.startedAt });
    await refreshCard({ ...store(ctx), notifier: ctx.deps.notifier, log: ctx.log }, d.requestId);
  } catch (err) {
    ctx.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'could not update the progress card',
    );
  }
}
