import { afterEach, describe, expect, it } from 'vitest';
import { type FakeSocketMode, startFakeSocketMode } from '../../devkit/index.js';
import { type Stack, startStack } from '../helpers/stack.js';

let stack: Stack | undefined;
let peer: FakeSocketMode | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await peer?.close();
  peer = undefined;
});

describe('Socket Mode', () => {
  it('connects with SLACK_APP_TOKEN through apps.connections.open and answers a slash command over the socket', async () => {
    peer = await startFakeSocketMode({
      envelopeId: 'env-1',
      userId: 'U0ALICE',
      command: '/chatops',
      text: 'help',
      channelId: 'C0GENERAL',
    });
    const url = peer.url;
    stack = await startStack({
      env: { SLACK_APP_TOKEN: 'xapp-test-token', PORT: '0' },
      beforeStart: (slack) => slack.setResponse('apps.connections.open', { url }),
    });
    const ack = await peer.ack;
    expect(ack.envelope_id).toBe('env-1');
    expect(ack.payload?.text).toMatch(/Commands you can run/);
    expect(stack.slack.callsTo('apps.connections.open')).toHaveLength(1);
    expect((await stack.auditRows()).map((r) => `${r.user}:${r.action}:${r.outcome}`)).toEqual([
      'U0ALICE:chatops:succeeded',
    ]);
  });
});
