import type { App } from '@slack/bolt';
import { type BotDeps, type CommandSpec, registerCommand } from '../bot/listeners.js';
import { UserError } from '../infra/errors.js';
import {
  cardTtlSeconds,
  DDB_EXPORT_QUEUE,
  type DdbEngine,
  type DdbExportData,
  ddbDedupKey,
  ddbExportConfig,
  ddbJobId,
  engineName,
  TABLE_NAME,
} from '../jobs/ddb-export/index.js';
import { initCard, markReady, setItem, slackSafe } from '../jobs/progress-card.js';

const USAGE = '`/ddb-export <table> [table…] [--native]`';
const FLAGS = new Set(['--native']);
/** One command fans out into one job per table; more than this is a mistake or abuse. */
export const MAX_TABLES = 20;

export interface DdbExportArgs {
  tables: string[];
  engine: DdbEngine;
}

// Shown back to the user as typed, short, and inert in Slack: escaped (no mention, link or
// broadcast), backticks as "'", control and bidi-override characters as "?".
function shown(word: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
  return `"${slackSafe(word.replace(/[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]/g, '?'), 40)}"`;
}

/**
 * Parses `<table> [table…] [--native]`. Every table name is checked before anything else: one bad
 * name refuses the whole command. Repeated names count once.
 */
export function parseDdbExportArgs(text: string): DdbExportArgs {
  const words = text.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('-'));
  const names = words.filter((w) => !w.startsWith('-'));
  const bad = names.filter((n) => !TABLE_NAME.test(n));
  if (bad.length) {
    throw new UserError(
      'bad_table_name',
      `${bad.map(shown).join(', ')} ${bad.length > 1 ? 'are not table names' : 'is not a table name'}: ` +
        'table names are 3 to 255 letters, digits, "_", "." or "-". Nothing was exported.',
    );
  }
  const unknown = flags.filter((f) => !FLAGS.has(f));
  if (unknown.length) {
    throw new UserError(
      'usage',
      `unknown option ${unknown.map(shown).join(', ')}; the only option is --native`,
    );
  }
  const tables = [...new Set(names)];
  if (!tables.length) throw new UserError('usage', 'name at least one DynamoDB table');
  if (tables.length > MAX_TABLES) {
    throw new UserError('usage', `at most ${MAX_TABLES} tables per command (got ${tables.length})`);
  }
  return { tables, engine: flags.includes('--native') ? 'native' : 'datapipeline' };
}

export const ddbExportCommand: CommandSpec<DdbExportArgs> = {
  command: '/ddb-export',
  usage: USAGE,
  help: [
    {
      action: 'ddb-export',
      line: '`/ddb-export <table…> [--native]`: export DynamoDB tables to the cross-account backup bucket (Data Pipeline; `--native`: DynamoDB export to S3)',
    },
  ],
  parse: (text) => parseDdbExportArgs(text),
  permission: () => 'ddb-export',
  async execute(args, req, deps: BotDeps) {
    const cfg = ddbExportConfig(deps.config);
    const store = { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX, clock: deps.clock };
    const where = `s3://${cfg.bucket}/backups/`;
    const how = engineName(args.engine);
    await initCard(
      store,
      {
        title: `:package: *DynamoDB export* of ${args.tables.length > 1 ? `${args.tables.length} tables` : 'a table'} from ${cfg.sourceAccount} to \`${where}\` (${cfg.targetAccount}), with ${how}`,
        channel: req.userId,
        items: args.tables,
        requestId: req.requestId,
      },
      cardTtlSeconds(cfg),
    );
    // One add per table, all confirmed by Redis before the answer; a table already being exported
    // is a duplicate, marked on the card and named in the answer.
    const results = await Promise.all(
      args.tables.map((table) => {
        const data: DdbExportData = {
          requestId: req.requestId,
          requester: req.userId,
          table,
          engine: args.engine,
        };
        return deps.queues.enqueue(DDB_EXPORT_QUEUE, table, data, {
          jobId: ddbJobId(req.requestId, table),
          dedupKey: ddbDedupKey(args.engine, table),
          confirmBy: req.confirmBy,
        });
      }),
    );
    const queued: string[] = [];
    const dupes: string[] = [];
    const ran: string[] = [];
    for (const [i, res] of results.entries()) {
      const table = args.tables[i] as string;
      if (res.status === 'queued') queued.push(table);
      else if (res.status === 'finished') {
        // A repeat of this very request, whose job already ended.
        ran.push(`\`${table}\` (job ${res.id}, ${res.state})`);
        await setItem(store, req.requestId, table, {
          state: 'duplicate',
          detail: `this request already ran it (job ${res.id}, ${res.state}), so not started twice`,
        });
      } else {
        dupes.push(`\`${table}\` (job ${res.existingId})`);
        await setItem(store, req.requestId, table, {
          state: 'duplicate',
          detail: `already being exported (job ${res.existingId}), so not started twice`,
        });
      }
    }
    await markReady(store, req.requestId);
    const list = (ts: string[]) => ts.map((t) => `\`${t}\``).join(', ');
    const dupText =
      (dupes.length ? ` Not started twice, already queued or running: ${dupes.join(', ')}.` : '') +
      (ran.length ? ` Not started again, this request already ran: ${ran.join(', ')}.` : '');
    return {
      outcome: queued.length ? 'queued' : 'invalid',
      target: args.tables.join(',').slice(0, 200),
      detail:
        `${args.engine}; jobs ${queued.map((t) => ddbJobId(req.requestId, t)).join(', ')}${dupes.length + ran.length ? `; duplicates ${dupes.length + ran.length}` : ''}`.slice(
          0,
          500,
        ),
      reply: {
        text: queued.length
          ? `:package: Queued: exporting ${list(queued)} from ${cfg.sourceAccount} to \`${where}\` with ${how}. ` +
            `I'll keep a progress card up to date in our DM.${dupText} (request ${req.requestId})`
          : `:hourglass:${dupText} (request ${req.requestId})`,
      },
    };
  },
};

/** Registers /ddb-export. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, ddbExportCommand);
}
