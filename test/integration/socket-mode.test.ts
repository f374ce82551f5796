import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { type Stack, startStack } from '../helpers/stack.js';

let stack: Stack | undefined;
let wss: WebSocketServer | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  wss = undefined;
});

describe('Socket Mode', () => {
  it('connects with SLACK_APP_TOKEN through apps.connections.open and answers a slash command over the socket', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss?.once('listening', r));
    const address = wss.address();
    const wsUrl = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/link`;
    const acked = new Promise<{ envelope_id: string; payload?: { text?: string } }>((resolve) => {
      wss?.on('connection', (socket) => {
        socket.on('message', (raw) => resolve(JSON.parse(String(raw))));
        socket.send(
          JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0CHATOPS' } }),
        );
        socket.send(
          JSON.stringify({
            envelope_id: 'env-1',
            type: 'slash_commands',
            accepts_response_payload: true,
            payload: {
              token: 'x',
              team_id: 'T0DEVKIT',
              channel_id: 'C0GENERAL',
              user_id: 'U0ALICE',
              user_name: 'alice',
              command: '/chatops',
              text: 'help',
              api_app_id: 'A0CHATOPS',
              response_url: 'http://127.0.0.1:1/unused',
              trigger_id: 't',
            },
          }),
        );
      });
    });
    stack = await startStack({
      env: { SLACK_APP_TOKEN: 'xapp-test-token', PORT: '0' },
      beforeStart: (slack) => slack.setResponse('apps.connections.open', { url: wsUrl }),
    });
    const ack = await acked;
    expect(ack.envelope_id).toBe('env-1');
    expect(ack.payload?.text).toMatch(/Commands you can run/);
    expect(stack.slack.callsTo('apps.connections.open')).toHaveLength(1);
    expect((await stack.auditRows()).map((r) => `${r.user}:${r.action}:${r.outcome}`)).toEqual([
      'U0ALICE:chatops:succeeded',
    ]);
  });
});
