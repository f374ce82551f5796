// What /migration's handlers hand to jobs/migration's operations: the bot's deps as a MigrationCore
// (card edits through the bot's Web API client, jobs added within the ack's deadline).
import type { BotDeps } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { coreOf, type MigrationStore } from '../../jobs/migration/index.js';

export function coreFor(deps: BotDeps, req: RequestContext) {
  return { ...coreOf(deps, req.confirmBy), log: req.log };
}

export function mstore(deps: BotDeps): MigrationStore {
  return { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}
