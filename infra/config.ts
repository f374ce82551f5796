import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type ZodError, z } from 'zod';
import { cronProblem } from './cron.js';
import { ConfigError } from './errors.js';
import { isValidZone, parseDuration } from './times.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U0123ABCD');
const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD');
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id (quote it in YAML)');
// S3 bucket names; they also end up inside the pipeline's shell command, so nothing else passes.
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be an S3 bucket name (lower-case letters, digits, dots, hyphens)',
  );
/** A duration as /maintenance and /migration take it (90s, 45m, 2h, 1h30m, 7d). */
const durationText = z.string().refine((v) => {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 90s, 45m, 2h, 1h30m or 7d (at most 30 days)');

/** What a maintenance notice says when neither the config nor the Edit modal says otherwise. */
export const MAINTENANCE_DEFAULTS = {
  impact: 'Short interruption of the affected service.',
  purpose: 'Planned maintenance.',
  rollback: 'Changes can be reverted within minutes if issues occur.',
  contact: 'the SRE team',
};

const roleName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'role names are lower-case words');

const account = z.strictObject({
  id: accountId,
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like us-east-1'),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN')
    .optional(),
});

const person = z.strictObject({
  slack: slackUserId,
  name: z.string().min(1).optional(),
  email: z.email('must be an email address'),
  gpgKey: z.string().min(1, 'path to an armored public key, or the armored key itself').optional(),
  iamUsers: z
    .record(z.string(), z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM user name'))
    .default({}),
});

const KEY_TOKENS = new Set(['name', 'YYYYMMDD', 'YYYY', 'MM', 'DD']);

/** Why a dump key pattern is unusable, or undefined. The date must sort: one check lists a date range. */
function keyPatternProblem(pattern: string): string | undefined {
  if (/[{}]/.test(pattern.replace(/\{[^{}]*\}/g, ''))) return 'has an unmatched { or }';
  const tokens = [...pattern.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
  const unknown = tokens.filter((t) => !KEY_TOKENS.has(t));
  if (unknown.length)
    return `unknown placeholder {${unknown[0]}}; use {name}, {YYYYMMDD}, {YYYY}, {MM}, {DD}`;
  const date = tokens.filter((t) => t !== 'name').join(' ');
  if (date !== 'YYYYMMDD' && date !== 'YYYY MM DD') {
    return 'must name the date once, as {YYYYMMDD} or {YYYY}, {MM}, {DD} in that order (keys must sort by date)';
  }
  return undefined;
}

const dumpJob = z.strictObject({
  name: z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, "_", "." or "-"'),
  /** 5 fields, or 6 with leading seconds (tests, demos); fires in the top-level `timezone`. */
  cron: z.string().superRefine((v, ctx) => {
    const problem = cronProblem(v, 'UTC');
    if (problem) ctx.addIssue({ code: 'custom', message: `not a cron schedule: ${problem}` });
  }),
  prefix: z.string().regex(/^[^{}]*$/, 'a key prefix such as dumps/ (no { })'),
  /** The day's object key after `prefix` (a key that starts with it counts, e.g. `.sql.gz` after it). */
  keyPattern: z
    .string()
    .min(1)
    .default('{name}_{YYYYMMDD}')
    .superRefine((v, ctx) => {
      const problem = keyPatternProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  graceMinutes: z.number().int().min(0).max(1440).default(30),
  sizeTolerancePct: z.number().min(0).max(100).default(20),
});

/** Who a dump alert notifies: `@here`, `@channel`, a user `<@U…>` or a user group `<!subteam^S…>`. */
const dumpMention = z
  .string()
  .regex(
    /^(@here|@channel|@everyone|<@[UW][A-Z0-9]{2,}>|<!subteam\^S[A-Z0-9]{2,}>)$/,
    'must be @here, @channel, @everyone, <@U…> or <!subteam^S…>',
  );

/** Which roles may run each action; `everyone` means any Slack user, `people` anyone listed in `people`. */
export const DEFAULT_PERMISSIONS: Record<string, string[]> = {
  'reset-password.self': ['people'],
  'reset-password.other': ['admin', 'interrupt-catcher'],
  'ddb-export': ['admin', 'interrupt-catcher'],
  migration: ['admin'],
  'migration.approve': ['approver'],
  /** Retry or roll back a failed phase-3 run from its card. */
  'migration.recover': ['admin', 'approver'],
  maintenance: ['admin'],
  dumps: ['everyone'],
  /** Acknowledge a dump alert (drops its mention). */
  'dumps.ack': ['everyone'],
  chatops: ['everyone'],
  'chatops.audit': ['admin'],
};

export const configSchema = z
  .strictObject({
    timezone: z
      .string()
      .refine(isValidZone, 'must be an IANA time zone such as Asia/Tokyo or Europe/Berlin')
      .default('UTC'),
    accounts: z.record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'account aliases are lower-case words'),
      account,
    ),
    channels: z
      .strictObject({
        alerts: channelId.optional(),
        maintenance: channelId.optional(),
        approvals: channelId.optional(),
      })
      .default({}),
    roles: z.record(roleName, z.array(slackUserId)).default({}),
    permissions: z.record(z.string(), z.array(z.string())).default({}),
    people: z.array(person).default([]),
    resetPassword: z
      .strictObject({
        defaultAccount: z.string().optional(),
        mailFrom: z.string().default('chatops@localhost'),
      })
      .default({ mailFrom: 'chatops@localhost' }),
    ddbExport: z
      .strictObject({
        sourceAccount: z.string(),
        targetAccount: z.string(),
        bucket: bucketName,
        watchTimeoutMinutes: z.number().positive().default(360),
        pollStartSeconds: z.number().positive().default(15),
        pollMaxSeconds: z.number().positive().default(120),
        readThroughputRatio: z.number().min(0.1).max(1).default(0.25),
        restoreManualUrl: z.url().optional(),
      })
      .optional(),
    migration: z
      .strictObject({
        account: z.string(),
        instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'must be an EC2 instance id'),
        role: z.string(),
        instanceProfile: z.string(),
        secretId: z.string(),
        bucket: bucketName,
        approvals: z.number().int().min(1).default(2),
        /** Phase-3 window length when the request names none. */
        windowMinutes: z.number().positive().default(30),
        /** How long the phase-3 run needs at most: a request expires once less than this is left of its window. */
        runMinutes: z.number().positive().default(10),
        /** Longest wait for the instance to stop or start. */
        waitTimeoutSeconds: z.number().positive().default(600),
        /** Gap between two state checks while waiting. */
        pollSeconds: z.number().positive().default(5),
        /** Where the parallel-testing uploads go (phase 2). */
        testPrefix: z.string().default('dumps-test/'),
        /** Consecutive good days of parallel testing phase 3 needs. */
        streakDays: z.number().int().min(1).max(14).default(7),
        /** How long the phase-5 cleanup's approval card (delete the test dumps) waits for its approvals. */
        cleanupExpiryHours: z.number().positive().max(720).default(24),
        /** How far ahead a phase-3 request may start. */
        maxLeadDays: z.number().int().min(1).max(3650).default(30),
      })
      .optional(),
    maintenance: z
      .strictObject({
        emailTo: z.array(z.email()).default([]),
        remindBefore: z.array(durationText).default(['7d', '1d']),
        defaults: z
          .strictObject({
            impact: z.string().default(MAINTENANCE_DEFAULTS.impact),
            purpose: z.string().default(MAINTENANCE_DEFAULTS.purpose),
            rollback: z.string().default(MAINTENANCE_DEFAULTS.rollback),
            contact: z.string().default(MAINTENANCE_DEFAULTS.contact),
          })
          .default(MAINTENANCE_DEFAULTS),
        /** How far ahead a window may start. */
        maxLeadDays: z.number().int().min(1).max(3650).default(365),
        /** How long after a window's end its start and completion notices are still worth posting late. */
        lateGraceMinutes: z.number().int().min(0).max(10_080).default(60),
      })
      .default({
        emailTo: [],
        remindBefore: ['7d', '1d'],
        defaults: MAINTENANCE_DEFAULTS,
        maxLeadDays: 365,
        lateGraceMinutes: 60,
      }),
    dumps: z
      .strictObject({
        account: z.string(),
        bucket: bucketName,
        mention: dumpMention.optional(),
        jobs: z.array(dumpJob).default([]),
      })
      .optional(),
    jobs: z
      .strictObject({
        attempts: z.number().int().min(1).max(20).default(5),
        backoffMs: z.number().int().min(10).default(5_000),
        keepCompleted: z.number().int().min(0).default(1_000),
        keepFailed: z.number().int().min(0).default(5_000),
        lockMs: z.number().int().min(500).default(30_000),
      })
      .default({ attempts: 5, backoffMs: 5_000, keepCompleted: 1_000, keepFailed: 5_000, lockMs: 30_000 }),
    audit: z
      .strictObject({ maxEntries: z.number().int().min(100).default(100_000) })
      .default({ maxEntries: 100_000 }),
  })
  .superRefine((c, ctx) => {
    const alias = (path: (string | number)[], value: string | undefined) => {
      if (value !== undefined && !(value in c.accounts)) {
        ctx.addIssue({ code: 'custom', path, message: `"${value}" is not an alias under accounts` });
      }
    };
    alias(['resetPassword', 'defaultAccount'], c.resetPassword.defaultAccount);
    alias(['ddbExport', 'sourceAccount'], c.ddbExport?.sourceAccount);
    alias(['ddbExport', 'targetAccount'], c.ddbExport?.targetAccount);
    alias(['migration', 'account'], c.migration?.account);
    alias(['dumps', 'account'], c.dumps?.account);
    const dumpNames = new Set<string>();
    c.dumps?.jobs.forEach((j, i) => {
      if (dumpNames.has(j.name))
        ctx.addIssue({ code: 'custom', path: ['dumps', 'jobs', i, 'name'], message: 'listed twice' });
      dumpNames.add(j.name);
    });
    c.people.forEach((p, i) => {
      for (const a of Object.keys(p.iamUsers)) alias(['people', i, 'iamUsers', a], a);
    });
    const seen = new Set<string>();
    // One IAM user is one person: a bare word in /reset-password must never name two.
    const iamOwners = new Map<string, string>();
    c.people.forEach((p, i) => {
      if (seen.has(p.slack))
        ctx.addIssue({ code: 'custom', path: ['people', i, 'slack'], message: 'listed twice' });
      seen.add(p.slack);
      for (const [a, user] of Object.entries(p.iamUsers)) {
        const owner = iamOwners.get(`${a}\u0000${user}`);
        if (owner !== undefined && owner !== p.slack) {
          ctx.addIssue({
            code: 'custom',
            path: ['people', i, 'iamUsers', a],
            message: `IAM user "${user}" in ${a} is already listed for ${owner}; one IAM user belongs to one person`,
          });
        }
        iamOwners.set(`${a}\u0000${user}`, p.slack);
      }
    });
    for (const key of Object.keys(c.permissions)) {
      if (!(key in DEFAULT_PERMISSIONS)) {
        ctx.addIssue({
          code: 'custom',
          path: ['permissions', key],
          message: `unknown action; known: ${Object.keys(DEFAULT_PERMISSIONS).join(', ')}`,
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema> & { readonly baseDir: string };
export type Person = Config['people'][number];
export type Account = Config['accounts'][string];

function describeIssues(err: ZodError): string[] {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Validates a parsed config object; throws ConfigError listing every bad key. */
export function parseConfig(raw: unknown, baseDir: string): Config {
  const res = configSchema.safeParse(raw ?? {});
  if (!res.success) throw new ConfigError(describeIssues(res.error));
  return deepFreeze({ ...res.data, baseDir });
}

/** Reads and validates the YAML config file once; the result is typed and frozen. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code})`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, dirname(resolve(path)));
}

/** The roles allowed to run `action` (config overrides the PRODUCT defaults). */
export function allowedRoles(config: Config, action: string): string[] {
  return config.permissions[action] ?? DEFAULT_PERMISSIONS[action] ?? ['admin'];
}

/** The roles a Slack user holds, plus the implicit `everyone` and (when listed) `people`. */
export function rolesOf(config: Config, userId: string): ReadonlySet<string> {
  let byUser = rolesByUser.get(config);
  if (!byUser) {
    byUser = new Map();
    rolesByUser.set(config, byUser);
  }
  let roles = byUser.get(userId);
  if (!roles) {
    const held = new Set(['everyone']);
    if (config.people.some((p) => p.slack === userId)) held.add('people');
    for (const [role, users] of Object.entries(config.roles)) if (users.includes(userId)) held.add(role);
    roles = held;
    // Bounded by the people and role members in the config plus the strangers seen (one entry each).
    if (byUser.size < 10_000) byUser.set(userId, roles);
  }
  return roles;
}

/** The config is frozen, so each user's roles are worked out once per config. */
const rolesByUser = new WeakMap<Config, Map<string, ReadonlySet<string>>>();

/** True when the user holds one of the roles allowed for the action. */
export function isAllowed(config: Config, userId: string, action: string): boolean {
  const held = rolesOf(config, userId);
  return allowedRoles(config, action).some((r) => held.has(r));
}
