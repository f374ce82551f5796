// A loopback HTTP proxy in front of moto for the bench: the bot's processes get AWS_ENDPOINT_URL
// pointing here, and every request they send is forwarded unchanged and recorded with its arrival
// time (when its headers arrived, on the bench's clock) and the AWS action it asks for: `Action=` of
// the query protocol (EC2, IAM, STS), `X-Amz-Target` of the JSON protocol (Secrets Manager), and
// for S3's REST protocol the operation told by method and query (ListObjectsV2 is `list-type=2`).
// Also the AWS world of the migration and dumps parts: moto_server with this proxy in front, and the
// account they work in (they seed it with devkit/worlds/, straight into moto).
import { Agent, createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MotoServer, resetMoto, startMoto } from '../devkit/moto.js';

export interface AwsCall {
  /** When the request's headers arrived, on the clock given to startAwsProxy (ms). */
  at: number;
  /** The signing service from the Authorization header's credential scope (ec2, s3, sts…). */
  service: string;
  /** The operation, e.g. StopInstances, AssumeRole, ListObjectsV2, DescribeSecret. */
  action: string;
  status: number;
}

export interface AwsProxy {
  /** For AWS_ENDPOINT_URL, e.g. `http://127.0.0.1:5123`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly calls: readonly AwsCall[];
  /** The first call from index `from` on whose action is `action`, once it arrives. */
  waitFor(action: string, from: number, timeoutMs: number): Promise<AwsCall>;
  /** Calls from index `from` (to `to`), counted by action. */
  countSince(from: number, to?: number): Record<string, number>;
  close(): Promise<void>;
}

function s3Action(method: string, url: URL): string {
  const q = url.searchParams;
  const path = url.pathname.replace(/^\/+/, '');
  if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
  if (method === 'GET' && !path.includes('/') && !q.size) return 'ListObjects';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'PUT') return path.includes('/') ? 'PutObject' : 'CreateBucket';
  if (method === 'DELETE') return 'DeleteObject';
  return `${method} s3`;
}

function classify(req: IncomingMessage, body: Buffer): { service: string; action: string } {
  const auth = String(req.headers.authorization ?? '');
  const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return { service, action: target.split('.').pop() ?? target };
  if (service === 's3')
    return { service, action: s3Action(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x')) };
  const fromBody = /(?:^|&)Action=([A-Za-z0-9]+)/.exec(body.toString('latin1'))?.[1];
  const fromQuery = /[?&]Action=([A-Za-z0-9]+)/.exec(req.url ?? '')?.[1];
  return { service, action: fromBody ?? fromQuery ?? `${req.method} ${service}` };
}

/** Starts the proxy on a free loopback port, forwarding to `target` (moto's URL). */
export async function startAwsProxy(target: string, clock: () => number): Promise<AwsProxy> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const calls: AwsCall[] = [];
  const waiters = new Set<{ action: string; from: number; resolve: (c: AwsCall) => void }>();
  const server = createServer((req, res) => {
    const at = clock();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const call: AwsCall = { at, ...classify(req, body), status: 0 };
      const index = calls.push(call) - 1;
      for (const w of waiters) {
        if (w.action === call.action && index >= w.from) {
          waiters.delete(w);
          w.resolve(call);
        }
      }
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
          agent,
        },
        (up) => {
          call.status = up.statusCode ?? 0;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => {
        call.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`bench proxy: ${err.message}`);
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    waitFor(action, from, timeoutMs) {
      const found = calls.slice(from).find((c) => c.action === action);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no ${action} reached moto within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = {
          action,
          from,
          resolve: (c: AwsCall) => {
            clearTimeout(timer);
            resolve(c);
          },
        };
        waiters.add(w);
      });
    },
    countSince(from, to) {
      const out: Record<string, number> = {};
      for (const c of calls.slice(from, to)) out[c.action] = (out[c.action] ?? 0) + 1;
      return out;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** The account the migration and dumps parts work in, behind a role the bot assumes (moto's STS). */
export const PROD_ACCOUNT = 'bench-prod';
export const PROD_ACCOUNTS = {
  [PROD_ACCOUNT]: {
    id: '386414299200',
    region: 'us-east-1',
    roleArn: 'arn:aws:iam::386414299200:role/chatops-bot',
  },
};

/** Moto on a free loopback port and the recording proxy in front of it. */
export interface AwsWorld {
  moto: MotoServer;
  proxy: AwsProxy;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Starts moto_server and the proxy; the parts seed moto directly (moto.url), not through the proxy. */
export async function startAwsWorld(clock: () => number): Promise<AwsWorld> {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.url, clock);
  return {
    moto,
    proxy,
    reset: () => resetMoto(moto.url),
    async close() {
      await proxy.close();
      await moto.close();
    },
  };
}
