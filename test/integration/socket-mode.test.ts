import { describe, expect, onTestFinished } from 'vitest';
import { startFakeSocketMode } from '../../devkit/index.js';
import { it } from '../helpers/stack.js';

describe('Socket Mode', () => {
  it('connects with SLACK_APP_TOKEN through apps.connections.open and answers a slash command over the socket', async ({
    startStack,
  }) => {
    const peer = await startFakeSocketMode({
      envelopeId: 'env-1',
      userId: 'U0ALICE',
      command: '/chatops',
      text: 'help',
      channelId: 'C0GENERAL',
    });
    onTestFinished(() => peer.close());
    const url = peer.url;
    const stack = await startStack({
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
