// The demo world of the seeds, made of devkit's worlds: the accounts' IAM people and the bot's role,
// the DynamoDB table and backup bucket of seed 003, and the cron host of seed 000 with its role,
// instance profile, secret and daily dumps. Seeding a moto you already run (AWS_ENDPOINT_URL) is safe.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  MIGRATION_WORLD,
  seedDdbExportWorld,
  seedDumpsWorld,
  seedMigrationWorld,
  seedPeopleWorld,
  type WorldTarget,
} from '../devkit/worlds/index.js';
import {
  ACCOUNTS,
  type AccountAlias,
  type DemoPerson,
  DUMP_JOBS,
  DUMPS_BUCKET,
  DUMPS_PREFIX,
  DUMPS_TEST_PREFIX,
  TIMEZONE,
} from './demo-config.js';

export const TABLE = 'prod_txlog';
export const BACKUP_BUCKET = 'dynamodb-migration-backups-osio';
/**
 * Days of dumps seeded, today included: the dump checks compare today's with the 7 before it, and
 * phase 2 needs a 7-day streak even while today's dump is made missing or short (`/world dump`).
 */
export const DUMP_DAYS = 9;
// Moto's default account: the identity the bot's own (testing) credentials map to.
const BOT_ACCOUNT = '123456789012';

/** Per-account password policies: two strict ones, and none in gghouse (the bot then uses its default). */
const PASSWORD_POLICIES: Partial<Record<AccountAlias, number>> = { 'osio-dev': 24, osio: 32 };

/**
 * A dump's size on a day: within ±2 % of the job's size, and its dumps-test/ twin within ±1 % of it
 * (phase 2 wants 5 %). Fixed by the day and the job rather than random, so every run looks alike.
 */
export function seededSize(bytes: number, daysAgo: number, jobIndex: number, test: boolean): number {
  const size = bytes * (1 + 0.02 * Math.sin(daysAgo * 1.7 + jobIndex));
  return Math.round(test ? size * (1 + 0.01 * Math.cos(daysAgo * 2.3 + jobIndex)) : size);
}

export interface SeededWorld {
  instanceId: string;
  /** One line per account, for the start-up banner. */
  summary: string[];
}

/** Seeds every account in moto at `endpoint`; `policyPath` is the bot's IAM policy, given to its role in each. */
export async function seedWorld(opts: {
  endpoint: string;
  people: DemoPerson[];
  policyPath: string;
}): Promise<SeededWorld> {
  const target: WorldTarget = { endpoint: opts.endpoint, accounts: ACCOUNTS, requester: 'playground-seed' };
  const people = await seedPeopleWorld({
    ...target,
    people: opts.people,
    passwordPolicies: PASSWORD_POLICIES,
    botRole: { policy: await readFile(opts.policyPath, 'utf8'), trustedAccount: BOT_ACCOUNT },
  });
  const summary = Object.fromEntries(
    Object.entries(people).map(([alias, p]) => [
      alias,
      `${alias} ${ACCOUNTS[alias as AccountAlias].id}: IAM users ${p.users.join(', ')} (${
        p.minPasswordLength ? `password policy: ${p.minPasswordLength}+ chars` : 'no password policy'
      })`,
    ]),
  ) as Record<AccountAlias, string>;

  // osio: the production table of seed 003, with point-in-time recovery so --native works too;
  // osio-dev: the cross-account backup bucket developers restore from.
  const items = Array.from({ length: 25 }, (_, i) => ({
    txId: { S: `tx-${String(i + 1).padStart(4, '0')}` },
    amount: { N: String(100 + i * 7) },
    currency: { S: 'JPY' },
    createdAt: { S: new Date(Date.now() - i * 3_600_000).toISOString() },
  }));
  await seedDdbExportWorld({
    ...target,
    source: 'osio',
    tables: [{ name: TABLE, key: 'txId', items, pitr: true }],
    target: 'osio-dev',
    bucket: BACKUP_BUCKET,
  });
  summary.osio += `; DynamoDB ${TABLE} (${items.length} items, point-in-time recovery on)`;
  summary['osio-dev'] += `; bucket ${BACKUP_BUCKET}`;

  // gghouse: the cron host before the migration (no instance profile), what phase 1 created, and the
  // daily dumps of each job under dumps/ and, for the parallel test of phase 2, dumps-test/.
  const host = await seedMigrationWorld({
    ...target,
    account: 'gghouse',
    bucket: DUMPS_BUCKET,
    secretValue: JSON.stringify({
      host: 'ggh-rds.playground.invalid',
      port: 3306,
      username: 'cron_dump',
      password: randomBytes(18).toString('base64url'),
    }),
  });
  await seedDumpsWorld({
    ...target,
    account: 'gghouse',
    bucket: DUMPS_BUCKET,
    jobs: DUMP_JOBS.map((j) => j.name),
    days: DUMP_DAYS,
    zone: TIMEZONE,
    prefixes: [DUMPS_PREFIX, DUMPS_TEST_PREFIX],
    size: (d) =>
      seededSize(DUMP_JOBS[d.jobIndex]?.bytes ?? 0, d.daysAgo, d.jobIndex, d.prefix === DUMPS_TEST_PREFIX),
  });
  summary.gghouse +=
    `; EC2 ${MIGRATION_WORLD.instanceName} ${host.instanceId}; role ${host.role}, profile ${host.instanceProfile}, secret ${host.secretId}` +
    `; bucket ${DUMPS_BUCKET} (${DUMP_DAYS} days of ${DUMP_JOBS.length} jobs' dumps under ${DUMPS_PREFIX} and ${DUMPS_TEST_PREFIX})`;

  return { instanceId: host.instanceId, summary: Object.values(summary) };
}
