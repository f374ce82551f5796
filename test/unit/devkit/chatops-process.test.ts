import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  answersReadyz,
  type ChatopsProcessOptions,
  type ChatopsRole,
  startChatopsProcess,
} from '../../../devkit/chatops-process.js';

const dir = mkdtempSync(join(tmpdir(), 'chatops-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Stand-ins for bot/main.ts, run through nodeArgs: each logs a pino-like JSON line with what it was given.
const WORKER = `console.log(JSON.stringify({ level: 30, msg: 'workers started', role: process.env.CHATOPS_ROLE, port: process.env.PORT, a: process.env.A }));
setInterval(() => {}, 1000);`;
const BOT = `const http = require('node:http');
setTimeout(() => {
  http.createServer((req, res) => { res.writeHead(req.url === '/readyz' ? 200 : 404); res.end('{}'); })
    .listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ level: 30, msg: 'listening', role: process.env.CHATOPS_ROLE })));
}, 300);`;
const SILENT = 'setInterval(() => {}, 1000);';

/** `script` as the process, logging to <name>.log. */
const start = (name: string, role: ChatopsRole, script: string, o: Partial<ChatopsProcessOptions> = {}) =>
  startChatopsProcess({
    name,
    role,
    env: {},
    logPath: join(dir, `${name}.log`),
    nodeArgs: ['-e', script],
    ...o,
  });

describe('startChatopsProcess', () => {
  it('runs what nodeArgs name with exactly its env, a worker ready once it logs "workers started"', async () => {
    const p = await start('worker-a', 'worker', WORKER, { env: { A: 'given' } });
    expect(p.url).toBeUndefined();
    expect(p.records()).toEqual([
      { level: 30, msg: 'workers started', role: 'worker', port: '0', a: 'given' },
    ]);
    expect(p.output()).toContain('"workers started"');
    await p.stop();
    expect(await p.exited).toBe('signal SIGTERM');
  });

  it('a bot is ready once GET /readyz answers 200, and says how long that took', async () => {
    const p = await start('bot-a', 'bot', BOT, { readyPollMs: 5 });
    try {
      expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
      expect(await answersReadyz(p.url as string)).toBe(true);
      expect(p.logged((r) => r.msg === 'listening' && r.role === 'bot')).toBe(true);
      expect(p.startToReadyMs).toBeGreaterThanOrEqual(300);
    } finally {
      await p.kill();
    }
    expect(await p.exited).toBe('signal SIGKILL');
    expect(await answersReadyz(p.url as string)).toBe(false);
  });

  it('a ready check given replaces the default one', async () => {
    let checks = 0;
    const p = await start('worker-b', 'worker', SILENT, {
      ready: async () => ++checks >= 3,
      readyPollMs: 5,
      readyTimeoutMs: 5_000,
    });
    await p.kill();
    expect(checks).toBe(3);
    expect(p.records()).toEqual([]);
  });

  it('without one, a worker that never logs "workers started" is not ready', async () => {
    await expect(start('worker-c', 'worker', SILENT, { readyTimeoutMs: 500 })).rejects.toThrow(
      /worker-c did not become ready within 500 ms/,
    );
  });
});
