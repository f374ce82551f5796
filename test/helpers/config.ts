// A small valid config for unit tests, built with the product's own parser.
import { type Config, parseConfig } from '../../infra/config.js';
import { ConfigError } from '../../infra/errors.js';
import { type DdbExportConfig, ddbExportConfig } from '../../jobs/ddb-export/data.js';

/** Two accounts, the usual channels, admin and approver roles, no people; `extra` overrides any key. */
export function testConfig(extra: Record<string, unknown> = {}): Config {
  return parseConfig(
    {
      timezone: 'Asia/Tokyo',
      accounts: {
        'osio-dev': { id: '619539278362', region: 'us-east-1' },
        osio: { id: '386414299200', region: 'us-east-1' },
      },
      channels: { alerts: 'C0ALERTS', approvals: 'C0APPROVE', maintenance: 'C0MAINT' },
      roles: { admin: ['U0OPS'], approver: ['U0DAVE', 'U0ERIN'] },
      people: [],
      resetPassword: { defaultAccount: 'osio-dev', mailFrom: 'chatops@example.com' },
      jobs: { attempts: 2, backoffMs: 10, lockMs: 5_000 },
      ...extra,
    },
    '/tmp',
  );
}

/** /ddb-export's section as the parser fills it: watch 360 min, polls from 15 s up to 120 s, a quarter of the read throughput. */
export function testDdbExportConfig(): DdbExportConfig {
  return ddbExportConfig(
    testConfig({
      ddbExport: {
        sourceAccount: 'osio',
        targetAccount: 'osio-dev',
        bucket: 'dynamodb-migration-backups-osio',
      },
    }),
  );
}

/** The problems of the ConfigError `parse` throws, or none when it passes; any other error is thrown. */
export function configProblems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
