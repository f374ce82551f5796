import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  App,
  type Logger as BoltLogger,
  type CustomRoute,
  HTTPModuleFunctions,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
} from '@slack/bolt';
import { registerHandlers } from '../handlers/index.js';
import type { Logger } from '../infra/logger.js';
import { countRefusals, markRefused, metricsRoute } from '../infra/metrics.js';
import { slackFetch } from '../infra/metrics-adapters.js';
import { redisAnswers } from '../infra/redis.js';
import { dumpWebhook } from './dump-webhook.js';
import { botHomeDeps, publishHome, registerHome } from './home.js';
import type { BotDeps } from './listeners.js';
import { gateSlackRequests, ReplayError, requestGate, slackRequestProperties } from './middleware.js';

/** Bolt's logger interface on top of pino. */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...m) => log.debug({ bolt: true }, m.map(String).join(' ')),
    info: (...m) => log.info({ bolt: true }, m.map(String).join(' ')),
    warn: (...m) => log.warn({ bolt: true }, m.map(String).join(' ')),
    error: (...m) => log.error({ bolt: true }, m.map(String).join(' ')),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * /healthz (alive), /readyz (Redis answers, config loaded), the dump webhook, and /metrics unless
 * METRICS_PORT moves it to its own server (bot/start.ts).
 */
export function customRoutes(deps: BotDeps): CustomRoute[] {
  const metrics =
    deps.metrics && deps.env.METRICS_PORT === undefined ? [metricsRoute(deps.metrics.registry)] : [];
  return [
    ...metrics,
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req: IncomingMessage, res) => json(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req: IncomingMessage, res) => {
        void redisAnswers(deps.redis, 1_000).then((redis) =>
          json(res, redis ? 200 : 503, {
            status: redis ? 'ready' : 'not ready',
            redis: redis ? 'ok' : 'unreachable',
            config: 'loaded',
          }),
        );
      },
    },
    {
      path: '/hooks/dumps',
      method: 'POST',
      handler: dumpWebhook(deps),
    },
  ];
}

const SLACK_ENDPOINTS = ['/slack/events'];

/**
 * Bolt's HTTP receiver, as published, behind the request gate (bot/middleware.ts): malformed
 * signature or timestamp headers are answered 401 before Bolt reads the body; the replay key and
 * the arrival time reach every request's context through Bolt's customPropertiesExtractor.
 */
function httpReceiver(deps: BotDeps, routes: CustomRoute[], log: BoltLogger): HTTPReceiver {
  const receiver = new HTTPReceiver({
    signingSecret: deps.env.SLACK_SIGNING_SECRET as string,
    endpoints: SLACK_ENDPOINTS,
    customRoutes: routes,
    logger: log,
    processBeforeResponse: false,
    customPropertiesExtractor: slackRequestProperties,
    processEventErrorHandler: async (args) => {
      if (args.error instanceof ReplayError) {
        // An event is acked (200) before any middleware runs: a replayed one is only not processed.
        if (args.response.headersSent) return true;
        markRefused(args.response, 'replay');
        args.response.writeHead(401);
        args.response.end();
        return true;
      }
      return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
    },
  });
  const gated = gateSlackRequests(receiver.requestListener, {
    endpoints: SLACK_ENDPOINTS,
    clock: deps.clock,
    log: deps.logger.child({ component: 'request-gate' }),
  });
  // Every 401 of /slack/events is counted where it is answered, whoever answers it (the gate, Bolt's
  // signature check, the replay check), by the reason marked on the response.
  receiver.requestListener = deps.metrics ? countRefusals(gated, deps.metrics) : gated;
  return receiver;
}

export interface BotApp {
  app: App;
  /** Starts listening; resolves to the bound HTTP port (or the health port in Socket Mode). */
  start(): Promise<number>;
  stop(): Promise<void>;
}

/** Builds the Bolt app: receiver (HTTP, or Socket Mode when SLACK_APP_TOKEN is set), middleware, handlers. */
export function createBotApp(deps: BotDeps, ids: { botId?: string; botUserId?: string }): BotApp {
  const { env, logger } = deps;
  const log = boltLogger(logger.child({ component: 'bolt' }));
  const routes = customRoutes(deps);
  const socketMode = Boolean(env.SLACK_APP_TOKEN);
  const receiver = socketMode
    ? new SocketModeReceiver({
        appToken: env.SLACK_APP_TOKEN as string,
        customRoutes: routes,
        // The WebSocket URL comes from apps.connections.open, so it too follows SLACK_API_URL.
        installerOptions: { port: env.PORT, clientOptions: { slackApiUrl: env.SLACK_API_URL } },
        logger: log,
      })
    : httpReceiver(deps, routes, log);
  const app = new App({
    receiver,
    token: env.SLACK_BOT_TOKEN,
    // Resolved once at start-up: without them Bolt would call auth.test on every request.
    botId: ids.botId,
    botUserId: ids.botUserId,
    tokenVerificationEnabled: false,
    // Bolt's default conversation store lives in process memory; replicas must not depend on it.
    convoStore: false,
    // It filters the bot's own Events API messages; the only event the bot takes is app_home_opened,
    // which a person causes, so it would only cost a middleware step on every request.
    ignoreSelf: false,
    logger: log,
    clientOptions: {
      slackApiUrl: env.SLACK_API_URL,
      retryConfig: { retries: 3 },
      // Counts every Web API request (and every response URL answer: Bolt's respond uses this fetch).
      ...(deps.metrics ? { fetch: slackFetch(deps.metrics, globalThis.fetch, env.SLACK_API_URL) } : {}),
    },
  });
  app.error(async (err) => {
    // A refused request goes back to the receiver, which answers 401.
    if (err instanceof ReplayError) throw err;
    logger.error(
      { err: err.message, code: (err as { code?: string }).code },
      'unhandled error in a Slack handler',
    );
  });
  app.use(
    requestGate({ redis: deps.redis, prefix: env.CHATOPS_REDIS_PREFIX, clock: deps.clock, log: logger }),
  );
  const home = botHomeDeps(deps, app.client);
  const handlerDeps: BotDeps = {
    ...deps,
    slack: app.client,
    publishHome: deps.publishHome ?? ((users) => publishHome(home, users)),
  };
  registerHandlers(app, handlerDeps);
  registerHome(app, handlerDeps);

  return {
    app,
    async start() {
      const started = (await app.start(env.PORT)) as unknown;
      if (!socketMode) {
        const addr = (started as Server).address();
        return typeof addr === 'object' && addr ? addr.port : env.PORT;
      }
      return env.PORT;
    },
    async stop() {
      await app.stop();
    },
  };
}
