import { freePort } from './free-port.js';
import { startManagedProcess } from './managed-process.js';

const READY_TIMEOUT_MS = 30_000;

export interface MotoOptions {
  /** Port to bind; a free loopback port when omitted. */
  port?: number;
  /** moto server executable. */
  bin?: string;
}

export interface MotoServer {
  /** Endpoint for AWS SDK clients, e.g. `http://127.0.0.1:5123` (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

/** True once anything answers HTTP on `url`; moto's status page is cheap to serve. */
async function answersHttp(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private `moto_server` on 127.0.0.1 and resolves once it answers HTTP.
 * Throws an install hint when the binary is not on PATH.
 */
export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
  const bin = opts.bin ?? 'moto_server';
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = await startManagedProcess({
    name: bin,
    bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    missingMessage: `${bin} not found: install it with pip install "moto[server]"`,
    ready: () => answersHttp(url),
    timeoutMs: READY_TIMEOUT_MS,
  });
  return { url, close: () => proc.close() };
}

/** Wipes all state in a running moto server (every service, every region). */
export async function resetMoto(url: string): Promise<void> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/moto-api/reset`, { method: 'POST' });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
}
