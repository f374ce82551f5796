import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OneWriteResponse } from '../../../bot/app.js';

/** Socket-level writes the server made for one response: single writes and writevs (with buffer counts). */
interface Writes {
  write: number;
  writev: number[];
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server whose handler answers the way Bolt acks; returns the response and the socket writes. */
async function answer(
  handler: (res: InstanceType<typeof OneWriteResponse>) => void,
): Promise<{ status: number; headers: Record<string, unknown>; body: string; writes: Writes }> {
  const writes: Writes = { write: 0, writev: [] };
  server = createServer({ ServerResponse: OneWriteResponse }, (_req, res) =>
    handler(res as InstanceType<typeof OneWriteResponse>),
  );
  server.on('connection', (socket: Socket) => {
    const s = socket as Socket & {
      _write: (...a: unknown[]) => void;
      _writev: (chunks: unknown[], cb: unknown) => void;
    };
    const write = s._write.bind(s);
    const writev = s._writev.bind(s);
    s._write = (...a) => {
      writes.write += 1;
      write(...a);
    };
    s._writev = (chunks, cb) => {
      writes.writev.push(chunks.length);
      writev(chunks, cb);
    };
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/slack/events' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, writes }));
    });
    req.on('error', reject);
    req.end('command=%2Fchatops');
  });
}

describe('OneWriteResponse (the ack)', () => {
  it('sends writeHead(status, headers) + end(body) as one write with a Content-Length', async () => {
    const body = JSON.stringify({ response_type: 'ephemeral', text: 'queued: naïve ✓' });
    const r = await answer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe(body);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.writes).toEqual({ write: 1, writev: [] });
  });

  it('leaves the other forms alone: a status message, no body, and a finish callback still work', async () => {
    let finished = false;
    const r = await answer((res) => {
      res.writeHead(401, 'Nope', { 'content-type': 'text/plain' });
      res.end('denied', () => {
        finished = true;
      });
    });
    expect(r.status).toBe(401);
    expect(r.body).toBe('denied');
    expect(finished).toBe(true);

    const empty = await answer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end();
    });
    expect(empty.status).toBe(200);
    expect(empty.body).toBe('');
    expect(empty.headers['content-length']).toBe('0');
  });
});
