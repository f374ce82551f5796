// Loaded only by processes that run workers: the AWS SDK, openpgp and nodemailer stay out of a bot-only process.
import type { AuditLog } from '../infra/audit.js';
import { type ActionRecorder, createAwsClients } from '../infra/aws.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import { fileKeyDirectory } from '../infra/key-directory.js';
import type { Logger } from '../infra/logger.js';
import { createSmtpMailer } from '../infra/mailer.js';
import type { Metrics } from '../infra/metrics.js';
import { awsMetricsPlugin, slackFetch } from '../infra/metrics-adapters.js';
import { slackNotifier } from '../infra/notifier.js';
import { openpgpEncryptor } from '../infra/pgp.js';
import type { Redis } from '../infra/redis.js';
import { createSlackWebClient } from '../infra/slack-client.js';
import type { WorkerDeps } from '../jobs/common.js';
import { homeRefresher } from '../jobs/housekeeping.js';
import { createQueues, type Queues } from '../jobs/queues.js';
import { publishHome } from './home.js';

export { startWorkers } from '../jobs/workers.js';

/** The real adapters a worker needs; `overrides` lets tests swap one (e.g. a throttling IAM endpoint). */
export function createWorkerDeps(opts: {
  config: Config;
  env: Env;
  logger: Logger;
  audit: AuditLog;
  redis: Redis;
  clock: Clock;
  metrics: Metrics;
  /** The process's queues (default: new ones on `redis`). */
  queues?: Queues;
  /** The process's Home refresh asker (default: one on `queues`). */
  homeChanged?: () => void;
  recorder?: ActionRecorder;
  overrides?: Partial<WorkerDeps>;
}): WorkerDeps {
  const { env, metrics } = opts;
  const prefix = env.CHATOPS_REDIS_PREFIX;
  // Every Slack and AWS request the workers make is counted (infra/metrics-adapters.ts).
  const fetch = slackFetch(metrics, globalThis.fetch, env.SLACK_API_URL);
  const slack = createSlackWebClient(env, 3, false, fetch);
  const queues =
    opts.queues ?? createQueues({ connection: opts.redis, prefix, config: opts.config, clock: opts.clock });
  const log = opts.logger.child({ component: 'home' });
  return {
    config: opts.config,
    env,
    logger: opts.logger,
    audit: opts.audit,
    notifier: slackNotifier(slack, createSlackWebClient(env, 0, true, fetch)),
    aws: createAwsClients(opts.config, { recorder: opts.recorder, plugins: [awsMetricsPlugin(metrics)] }),
    mailer: createSmtpMailer(env.SMTP_URL),
    encryptor: openpgpEncryptor,
    keys: fileKeyDirectory(opts.config.baseDir),
    redis: opts.redis,
    clock: opts.clock,
    queues,
    prefix,
    metrics,
    homeChanged: opts.homeChanged ?? homeRefresher(queues, opts.clock, log),
    publishHome: (users) =>
      publishHome(
        { config: opts.config, redis: opts.redis, prefix, queues, clock: opts.clock, slack, log },
        users,
      ),
    ...opts.overrides,
  };
}
