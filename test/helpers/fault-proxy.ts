// Loopback proxies that put faults between a chatops process and what it talks to: an HTTP proxy
// (moto, the fake Slack API) that can refuse, hold or answer in place of the upstream, and a TCP
// proxy (SMTP) that can hang new connections; both can go down (connection refused) and come back
// on the same port.
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';

/** One request the proxy saw. */
export interface ProxiedCall {
  /** What the request is: an AWS action (`UpdateLoginProfile`), a Slack method (`chat.postMessage`)… */
  name: string;
  method: string;
  path: string;
  /** Body fields (form or JSON), for matching on e.g. a Slack message's text. */
  args: Record<string, unknown>;
  at: number;
  /** What the proxy did: forwarded (and answered with the upstream's answer), or not. */
  outcome: 'forwarded' | 'answered' | 'held' | 'held-answer' | 'refused-answer';
}

/**
 * What to do with a request: `pass` forwards it; `hold` keeps it unanswered and unforwarded;
 * `hold-answer` forwards it (the upstream applies it) and never answers; `{ status }` answers
 * without forwarding; `{ afterForward }` forwards it and answers that instead of the upstream's answer.
 */
export type Verdict =
  | 'pass'
  | 'hold'
  | 'hold-answer'
  | { status: number; headers?: Record<string, string>; body?: string; afterForward?: boolean };

export interface HttpFaultProxy {
  /** e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request seen, oldest first. */
  readonly calls: readonly ProxiedCall[];
  /** How many requests named `name` reached the upstream. */
  forwarded(name: string): number;
  /** Decides each request; `pass` for all by default. */
  rule: (call: ProxiedCall) => Verdict;
  /** Called once a forwarded request was answered by the upstream (whatever the client then gets). */
  onForwarded: (call: ProxiedCall, status: number) => void;
  /** Requests currently held (by `hold` or `hold-answer`). */
  held(): ProxiedCall[];
  /** Stops listening and drops every connection: clients get connection refused until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function parseArgs(contentType: string, body: string, query: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(query)) args[k] = v;
  if (!body) return args;
  if (contentType.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') Object.assign(args, parsed);
    } catch {
      // Not JSON after all: nothing to match on.
    }
    return args;
  }
  if (contentType.includes('x-www-form-urlencoded'))
    for (const [k, v] of new URLSearchParams(body)) args[k] = v;
  return args;
}

/** The AWS action of a request to moto: X-Amz-Target (JSON protocols), Action= (query protocols), or S3's REST shape. */
export function awsActionOf(req: IncomingMessage, args: Record<string, unknown>): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  if (typeof args.Action === 'string') return args.Action;
  if (args['list-type'] === '2') return 'ListObjectsV2';
  return `S3 ${req.method} ${(req.url ?? '').split('?')[0]}`;
}

/** The Slack Web API method of a request (`/api/chat.postMessage` → `chat.postMessage`). */
export function slackMethodOf(req: IncomingMessage): string {
  const path = (req.url ?? '').split('?')[0] ?? '';
  return path.startsWith('/api/') ? path.slice(5) : path;
}

/** Starts an HTTP proxy on a free loopback port in front of `upstream` (http://host:port). */
export async function startHttpFaultProxy(opts: {
  upstream: string;
  nameOf: (req: IncomingMessage, args: Record<string, unknown>) => string;
}): Promise<HttpFaultProxy> {
  const upstream = new URL(opts.upstream);
  const calls: ProxiedCall[] = [];
  const forwardedCount = new Map<string, number>();
  const held = new Map<ServerResponse, ProxiedCall>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const forward = (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers } as Record<string, string>;
      const up = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const out: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection')
                out[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const answer = (
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer | string,
  ) => {
    if (res.destroyed) return;
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': String(payload.length) });
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const args = parseArgs(
      String(req.headers['content-type'] ?? ''),
      body.toString('utf8'),
      q === -1 ? '' : url.slice(q + 1),
    );
    const call: ProxiedCall = {
      name: opts.nameOf(req, args),
      method: req.method ?? 'GET',
      path: q === -1 ? url : url.slice(0, q),
      args,
      at: Date.now(),
      outcome: 'forwarded',
    };
    calls.push(call);
    const verdict = proxy.rule(call);
    if (verdict === 'hold') {
      call.outcome = 'held';
      held.set(res, call);
      res.on('close', () => held.delete(res));
      return;
    }
    if (typeof verdict === 'object' && !verdict.afterForward) {
      call.outcome = 'answered';
      answer(
        res,
        verdict.status,
        verdict.headers ?? { 'content-type': 'application/json' },
        verdict.body ?? '',
      );
      return;
    }
    let upstreamAnswer: Awaited<ReturnType<typeof forward>>;
    try {
      forwardedCount.set(call.name, (forwardedCount.get(call.name) ?? 0) + 1);
      upstreamAnswer = await forward(req, body);
    } catch {
      // The upstream is away (e.g. moto restarting): the client sees a dropped connection.
      res.destroy();
      return;
    }
    proxy.onForwarded(call, upstreamAnswer.status);
    if (verdict === 'hold-answer') {
      call.outcome = 'held-answer';
      held.set(res, call);
      res.on('close', () => held.delete(res));
      return;
    }
    if (typeof verdict === 'object') {
      call.outcome = 'refused-answer';
      answer(
        res,
        verdict.status,
        verdict.headers ?? { 'content-type': 'application/json' },
        verdict.body ?? '',
      );
      return;
    }
    answer(res, upstreamAnswer.status, upstreamAnswer.headers, upstreamAnswer.body);
  };

  const listen = async (onPort: number) => {
    const s = createServer((req, res) => {
      handle(req, res).catch(() => res.destroy());
    });
    s.keepAliveTimeout = 65_000;
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(onPort, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
    port = (s.address() as AddressInfo).port;
  };

  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    held.clear();
    await closed;
  };

  await listen(0);
  const proxy: HttpFaultProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    forwarded: (name) => forwardedCount.get(name) ?? 0,
    rule: () => 'pass',
    onForwarded: () => {},
    held: () => [...held.values()],
    down: stop,
    async up() {
      if (!server) await listen(port);
    },
    close: stop,
  };
  return proxy;
}

export type TcpMode = 'pass' | 'hang' | 'down';

export interface TcpFaultProxy {
  /** e.g. 127.0.0.1:40123 */
  readonly host: string;
  readonly port: number;
  readonly mode: TcpMode;
  /** Connections accepted in `hang` mode and left without an answer, still open. */
  hanging(): number;
  /** `pass` forwards new connections, `hang` accepts them and never answers, `down` refuses them. */
  setMode(mode: TcpMode): Promise<void>;
  close(): Promise<void>;
}

/** Starts a TCP proxy on a free loopback port in front of 127.0.0.1:`targetPort`. */
export async function startTcpFaultProxy(targetPort: number): Promise<TcpFaultProxy> {
  let mode: TcpMode = 'pass';
  let port = 0;
  let server: ReturnType<typeof createTcpServer> | undefined;
  const sockets = new Set<Socket>();
  const hung = new Set<Socket>();

  const listen = async (onPort: number) => {
    const s = createTcpServer((client) => {
      sockets.add(client);
      client.on('close', () => {
        sockets.delete(client);
        hung.delete(client);
      });
      client.on('error', () => client.destroy());
      if (mode === 'hang') {
        hung.add(client);
        return;
      }
      const up = connect(targetPort, '127.0.0.1');
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        client.destroy();
      });
      up.on('error', () => up.destroy());
      client.on('close', () => up.destroy());
      client.pipe(up);
      up.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(onPort, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
    port = (s.address() as AddressInfo).port;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await listen(0);
  return {
    get host() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get mode() {
      return mode;
    },
    hanging: () => hung.size,
    async setMode(next) {
      if (next === 'down') await stop();
      else if (!server) await listen(port);
      mode = next;
    },
    close: stop,
  };
}
