import { createServer } from 'node:net';

/**
 * Asks the OS for a currently unused TCP port on 127.0.0.1.
 * Another process can still grab it before the caller binds, so callers that spawn
 * servers should surface bind failures clearly rather than assume success.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: could not read the port of a TCP server'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
