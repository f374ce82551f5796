// Composition root: environment and secrets, config, logger, then the bot and/or workers per CHATOPS_ROLE.
import { loadConfig } from '../infra/config.js';
import { parseEnv } from '../infra/env.js';
import { ConfigError } from '../infra/errors.js';
import { createLogger } from '../infra/logger.js';
import { withSecretsFromAws } from '../infra/secrets.js';
import { type Chatops, startChatops } from './start.js';

/** How long a SIGTERM waits for an unfinished start-up (e.g. Socket Mode retrying an unreachable Slack). */
const START_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const bootLog = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
  let starting: Promise<Chatops> | undefined;
  let stopping = false;
  // Registered before start-up, so a SIGTERM during start still shuts down in order.
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    bootLog.info({ signal }, 'shutting down');
    if (!starting) process.exit(0);
    const startTimer = setTimeout(() => {
      bootLog.error(
        { signal, waitedMs: START_GRACE_MS },
        'start-up did not finish after the stop signal; exiting without a clean shutdown (jobs this process took, if any, are retried by other workers once they stall)',
      );
      process.exit(1);
    }, START_GRACE_MS);
    starting
      .then((c) => {
        clearTimeout(startTimer);
        return c.close();
      })
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const env = parseEnv(await withSecretsFromAws(process.env));
    const config = loadConfig(env.CHATOPS_CONFIG);
    const logger = createLogger({ level: env.LOG_LEVEL, buffered: true });
    starting = startChatops({ env, config, logger });
    await starting;
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line per bad key, readable in a terminal and in a log pipeline alike.
      process.stderr.write(`${err.message}\n`);
      bootLog.fatal({ problems: err.problems }, 'configuration is invalid');
    } else {
      bootLog.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
    }
    process.exit(1);
  }
}

void main();
