// A loopback TCP proxy that delays what clients send by a settable time (answers pass at once), so
// every request/answer round trip through it (one Redis command, or one pipelined batch) takes that
// much longer. Order is kept: chunks leave in the order they came, each held for the same delay.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowProxy {
  /** e.g. redis://127.0.0.1:40123 for a Redis target. */
  url(scheme: string): string;
  readonly port: number;
  /** Delay of each client→target chunk from now on, in ms (0: pass at once). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port in front of 127.0.0.1:`targetPort`. */
export async function startSlowProxy(targetPort: number, delayMs = 0): Promise<SlowProxy> {
  let delay = delayMs;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(targetPort, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    up.pipe(client);
    // One queue per connection, drained in order: a chunk never overtakes an earlier one, even when
    // the delay is lowered while chunks are held.
    const held: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (held.length && (held[0] as { at: number }).at <= Date.now()) {
        const next = held.shift() as { chunk: Buffer };
        if (!up.destroyed) up.write(next.chunk);
      }
      if (held.length) {
        timer = setTimeout(pump, Math.max(0, (held[0] as { at: number }).at - Date.now()));
      }
    };
    client.on('data', (chunk: Buffer) => {
      if (delay <= 0 && !held.length) {
        up.write(chunk);
        return;
      }
      const last = held.at(-1)?.at ?? 0;
      held.push({ at: Math.max(Date.now() + delay, last), chunk });
      if (!timer) pump();
    });
    client.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    setDelay(ms) {
      delay = ms;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
