import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  type Server,
  ServerResponse,
} from 'node:http';
import {
  App,
  type Logger as BoltLogger,
  type CustomRoute,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
} from '@slack/bolt';
import { registerHandlers } from '../handlers/index.js';
import type { Logger } from '../infra/logger.js';
import { redisAnswers } from '../infra/redis.js';
import type { BotDeps } from './command.js';

/** Bolt's logger interface on top of pino. */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    // Bolt logs several debug lines per request: skip building them unless they are wanted.
    debug: (...m) => {
      if (log.isLevelEnabled('debug')) log.debug({ bolt: true }, m.map(String).join(' '));
    },
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

/** /healthz (alive), /readyz (Redis answers, config loaded) and the dump webhook's placeholder. */
export function customRoutes(deps: BotDeps): CustomRoute[] {
  return [
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
      handler: (_req: IncomingMessage, res) =>
        json(res, 501, { error: 'dump failure alerts are not yet available' }),
    },
  ];
}

/**
 * Bolt acks with writeHead() and then end(body), so Node has to send the body chunked: five
 * buffers per response (header and chunk size, CRLF, body, CRLF, terminator). Holding writeHead's
 * status and headers until the body is known lets the ack carry a Content-Length, and end(body)
 * then goes out as write(body) + end(): one write of header and body. (Node's own end(body) always
 * adds an empty write, so even a Content-Length response was a writev of two buffers, and the
 * bot's ack cost about 20 µs more CPU than bare Bolt's header-only one at c=50, npm run bench.)
 * Other writeHead forms go through unchanged.
 */
export class OneWriteResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  private held = false;

  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    // The second call is Node's own, from write()/end(), once it knows the length.
    if (
      this.held ||
      typeof messageOrHeaders === 'string' ||
      Array.isArray(messageOrHeaders) ||
      this.headersSent
    ) {
      return typeof messageOrHeaders === 'string'
        ? super.writeHead(statusCode, messageOrHeaders, headers)
        : super.writeHead(statusCode, messageOrHeaders);
    }
    this.held = true;
    this.statusCode = statusCode;
    for (const [name, value] of Object.entries(messageOrHeaders ?? {})) {
      if (value !== undefined) this.setHeader(name, value);
    }
    return this;
  }

  override end(...args: unknown[]): this {
    const [chunk, encoding] = args;
    if (this.held && !this.headersSent && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
      const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
      const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      this.setHeader(
        'content-length',
        typeof chunk === 'string' ? Buffer.byteLength(chunk, enc) : chunk.length,
      );
      this.write(chunk, enc);
      // write() corks the socket until the next tick; sending now leaves end() nothing to add.
      this.socket?.uncork();
      return callback ? super.end(callback) : super.end();
    }
    return super.end(...(args as Parameters<ServerResponse['end']>));
  }
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
    : new HTTPReceiver({
        signingSecret: env.SLACK_SIGNING_SECRET as string,
        endpoints: '/slack/events',
        customRoutes: routes,
        logger: log,
        processBeforeResponse: false,
      });
  const app = new App({
    receiver,
    token: env.SLACK_BOT_TOKEN,
    // Resolved once at start-up: without them Bolt would call auth.test on every request.
    botId: ids.botId,
    botUserId: ids.botUserId,
    tokenVerificationEnabled: false,
    // Bolt's default conversation store lives in process memory; replicas must not depend on it.
    convoStore: false,
    logger: log,
    clientOptions: { slackApiUrl: env.SLACK_API_URL, retryConfig: { retries: 3 } },
  });
  app.error(async (err) => {
    logger.error(
      { err: err.message, code: (err as { code?: string }).code },
      'unhandled error in a Slack handler',
    );
  });
  registerHandlers(app, deps);

  let server: Server | undefined;
  return {
    app,
    async start() {
      const started = (await (socketMode
        ? app.start(env.PORT)
        : app.start(env.PORT, { ServerResponse: OneWriteResponse }))) as unknown;
      if (!socketMode) {
        server = started as Server;
        const addr = server.address();
        return typeof addr === 'object' && addr ? addr.port : env.PORT;
      }
      return env.PORT;
    },
    async stop() {
      await app.stop();
    },
  };
}
