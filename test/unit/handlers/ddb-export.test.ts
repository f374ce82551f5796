import { describe, expect, it } from 'vitest';
import type { BotDeps } from '../../../bot/listeners.js';
import type { RequestContext } from '../../../bot/middleware.js';
import { ddbExportCommand, MAX_TABLES, parseDdbExportArgs } from '../../../handlers/ddb-export.js';
import { parseConfig } from '../../../infra/config.js';

describe('/ddb-export arguments', () => {
  it('reads tables, repeated names once, and picks Data Pipeline unless --native', () => {
    expect(parseDdbExportArgs('prod_txlog')).toEqual({ tables: ['prod_txlog'], engine: 'datapipeline' });
    expect(parseDdbExportArgs('  a.b-c_d   prod_txlog a.b-c_d ')).toEqual({
      tables: ['a.b-c_d', 'prod_txlog'],
      engine: 'datapipeline',
    });
    expect(parseDdbExportArgs('--native prod_txlog other')).toEqual({
      tables: ['prod_txlog', 'other'],
      engine: 'native',
    });
  });

  it('refuses shell characters, $(…), over-long and too-short names, naming them, before anything else', () => {
    expect(() => parseDdbExportArgs('"a;rm -rf /"')).toThrow(/"\\?"a;rm", "\/\\?"" are not table names/);
    expect(() => parseDdbExportArgs('$(id)')).toThrow(/"\$\(id\)" is not a table name.*Nothing was exported/);
    expect(() => parseDdbExportArgs(`${'x'.repeat(300)}`)).toThrow(/"x{40}…" is not a table name/);
    expect(() => parseDdbExportArgs('ab')).toThrow(/not a table name/);
    // One bad name refuses the whole command, whatever else is on it.
    expect(() => parseDdbExportArgs('good_table `id` --native')).toThrow(/"'id'"|"\?id\?"/);
  });

  it('keeps the echoed name inert in Slack: escaped as typed, never raw', () => {
    const message = (text: string) => {
      try {
        parseDdbExportArgs(text);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    for (const bad of ['<!channel>', '<!here>', '<@U0EVIL>', '<https://x|y>', 'a&b']) {
      const msg = message(bad);
      expect(msg).toContain('is not a table name');
      expect(msg).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
    }
    expect(message('<!channel>')).toContain('"&lt;!channel&gt;"');
    expect(message('prod_txlog --<!here>')).toContain('unknown option "--&lt;!here&gt;"');
  });

  it('gives usage help for unknown flags, no table, and too many tables', () => {
    expect(() => parseDdbExportArgs('prod_txlog --force')).toThrow(/unknown option "--force"/);
    expect(() => parseDdbExportArgs('')).toThrow(/name at least one DynamoDB table/);
    expect(() => parseDdbExportArgs('--native')).toThrow(/name at least one/);
    const many = Array.from({ length: MAX_TABLES + 1 }, (_, i) => `table_${i}`).join(' ');
    expect(() => parseDdbExportArgs(many)).toThrow(/at most 20 tables/);
  });
});

describe('/ddb-export without configuration', () => {
  it('says how to configure it and queues nothing', async () => {
    const config = parseConfig({ accounts: { osio: { id: '386414299200', region: 'us-east-1' } } }, '/tmp');
    let enqueued = 0;
    const deps = {
      config,
      queues: {
        enqueue: async () => {
          enqueued++;
          return { id: 'x', duplicate: false };
        },
      },
    } as unknown as BotDeps;
    const req = { requestId: 'r1', userId: 'U0OPS', redisDown: false } as RequestContext;
    await expect(
      ddbExportCommand.execute({ tables: ['prod_txlog'], engine: 'datapipeline' }, req, deps, {
        channelId: 'C1',
        triggerId: 't',
      }),
    ).rejects.toThrow(/add ddbExport \(sourceAccount, targetAccount, bucket\)/);
    expect(enqueued).toBe(0);
    expect(ddbExportCommand.permission({ tables: ['t12'], engine: 'native' }, req, deps)).toBe('ddb-export');
  });
});
