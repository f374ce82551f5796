// Cron schedules through cron-parser, the library BullMQ's job schedulers use (the same copy: npm
// dedupes it), so the times the bot shows and reasons about are the ones the scheduler fires at.
import { CronExpressionParser } from 'cron-parser';

/**
 * Why `expr` is not a cron schedule the bot accepts, or undefined when it is: five fields (minute hour
 * day-of-month month day-of-week), or six with a leading seconds field (used by tests and demos to fire
 * within seconds). No `@daily`-style aliases: they hide the time a reader wants to see.
 */
export function cronProblem(expr: string, zone: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  try {
    // Whether a schedule is valid does not depend on the date: a fixed one keeps the check deterministic.
    CronExpressionParser.parse(expr, { tz: zone, currentDate: new Date(0) }).next();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The first time `expr` fires strictly after `after` (epoch ms), in `zone`. */
export function nextFire(expr: string, zone: string, after: number): number {
  return CronExpressionParser.parse(expr, { tz: zone, currentDate: new Date(after) })
    .next()
    .getTime();
}

/** The last time `expr` fired at or before `at` (epoch ms), in `zone`. */
export function lastFire(expr: string, zone: string, at: number): number {
  // cron-parser's prev() is strictly before its current date; 1 ms later makes it "at or before".
  return CronExpressionParser.parse(expr, { tz: zone, currentDate: new Date(at + 1) })
    .prev()
    .getTime();
}
