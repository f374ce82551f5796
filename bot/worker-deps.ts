// Loaded only by processes that run workers: the AWS SDK, openpgp and nodemailer stay out of a bot-only process.
import type { AuditLog } from '../infra/audit.js';
import { type ActionRecorder, createAwsClients } from '../infra/aws.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import { fileKeyDirectory } from '../infra/key-directory.js';
import type { Logger } from '../infra/logger.js';
import { createSmtpMailer } from '../infra/mailer.js';
import { slackNotifier } from '../infra/notifier.js';
import { openpgpEncryptor } from '../infra/pgp.js';
import type { Redis } from '../infra/redis.js';
import { createSlackWebClient } from '../infra/slack-client.js';
import type { WorkerDeps } from '../jobs/common.js';
import { createQueues } from '../jobs/queues.js';

export { startWorkers } from '../jobs/workers.js';

/** The real adapters a worker needs; `overrides` lets tests swap one (e.g. a throttling IAM endpoint). */
export function createWorkerDeps(opts: {
  config: Config;
  env: Env;
  logger: Logger;
  audit: AuditLog;
  redis: Redis;
  clock: Clock;
  recorder?: ActionRecorder;
  overrides?: Partial<WorkerDeps>;
}): WorkerDeps {
  return {
    config: opts.config,
    env: opts.env,
    logger: opts.logger,
    audit: opts.audit,
    notifier: slackNotifier(createSlackWebClient(opts.env, 3), createSlackWebClient(opts.env, 0, true)),
    aws: createAwsClients(opts.config, { recorder: opts.recorder }),
    mailer: createSmtpMailer(opts.env.SMTP_URL),
    encryptor: openpgpEncryptor,
    keys: fileKeyDirectory(opts.config.baseDir),
    redis: opts.redis,
    clock: opts.clock,
    queues: createQueues({
      connection: opts.redis,
      prefix: opts.env.CHATOPS_REDIS_PREFIX,
      config: opts.config,
      clock: opts.clock,
    }),
    prefix: opts.env.CHATOPS_REDIS_PREFIX,
    ...opts.overrides,
  };
}
