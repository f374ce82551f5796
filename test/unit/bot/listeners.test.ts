// The one guarded path of every listener, through the real Bolt app and signed requests: parse,
// authorise at the moment of the request, do the work within the ack's budget, one audit entry, then
// the answer (ephemeral for a command or a click on a message, the DM for Home and modals).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CommandSpec,
  denialText,
  guarded,
  registerAction,
  registerCommand,
  registeredCommands,
  registerView,
} from '../../../bot/listeners.js';
import type { RequestContext } from '../../../bot/middleware.js';
import { DeniedError, UserError } from '../../../infra/errors.js';
import { type BotWorld, startBotWorld } from '../../helpers/bot-world.js';
import { testConfig } from '../../helpers/config.js';

let skew = 0;
const published: string[][] = [];
let w: BotWorld;

/** `/unit-echo <word>`: the word decides what the work does. */
const echo: CommandSpec<{ word: string }> = {
  command: '/unit-echo',
  usage: '`/unit-echo <word>`',
  help: [{ action: 'chatops', line: '`/unit-echo <word>`' }],
  parse(text) {
    if (!/^[\w-]+$/.test(text)) throw new UserError('usage', 'say one word');
    return { word: text };
  },
  permission: (p) => (p.word.startsWith('admin') ? 'chatops.audit' : 'chatops'),
  async execute(p) {
    switch (p.word) {
      case 'refused':
        throw new UserError('not_today', 'not today: try tomorrow');
      case 'denied':
        throw new DeniedError('only the owner may');
      case 'bug':
        throw new Error('ECONNRESET redis://:hunter2@10.0.0.7');
      case 'slow':
        // The work outlasts the ack's budget: the clock moves past it at once.
        skew += 3_000;
        return new Promise(() => {});
      default:
        return { outcome: 'queued', target: p.word, reply: { text: `echo ${p.word}` } };
    }
  },
};

beforeAll(async () => {
  w = await startBotWorld({
    config: testConfig({ roles: { admin: ['U0OPS'] } }),
    clock: { now: () => Date.now() + skew },
    deps: { publishHome: async (users) => void published.push([...users]) },
  });
  registerCommand(w.app, w.deps, echo);
  registerAction(w.app, w.deps, {
    actionId: /^unit_btn_/,
    permission: (click) => (click.value === 'admin' ? 'chatops.audit' : 'chatops'),
    async handle(click) {
      return {
        outcome: 'succeeded',
        target: click.value,
        reply: { text: `clicked ${click.actionId} ${click.from}` },
      };
    },
  });
  registerView(w.app, w.deps, {
    callbackId: 'unit_modal',
    permission: () => 'chatops',
    async handle(view) {
      const reason = view.state.values.reason?.value?.value ?? '';
      if (!reason) return { outcome: 'invalid', reply: { text: '' }, errors: { reason: 'Say why' } };
      return { outcome: 'succeeded', reply: { text: `noted: ${reason}` } };
    },
  });
});
afterAll(() => w.close());

const entryOf = async (user: string, action: string) =>
  (await w.audit()).find((e) => e.user === user && e.action === action);

describe('commands', () => {
  it('answers ephemerally, audits one entry with the permission as its action, counts it and asks Home', async () => {
    const home = w.homeChanges();
    const res = await w.command('U0ALICE', '/unit-echo', 'hello');
    expect(res).toEqual({ status: 200, text: 'echo hello' });
    expect(await entryOf('U0ALICE', 'chatops')).toMatchObject({ outcome: 'queued', target: 'hello' });
    expect(await w.deps.metrics?.render()).toContain(
      'chatops_commands_total{command="other",outcome="queued"} 1',
    );
    expect(w.homeChanges()).toBe(home + 1);
  });

  it('answers bad arguments with the usage, audited as invalid under the command, and runs nothing', async () => {
    const res = await w.command('U0BOB', '/unit-echo', 'two words');
    expect(res.text).toBe('say one word\nUsage: `/unit-echo <word>`');
    expect(await entryOf('U0BOB', 'unit-echo')).toMatchObject({ outcome: 'invalid', detail: 'usage' });
  });

  it('denies a user without the role at the moment of the request, naming who may', async () => {
    const home = w.homeChanges();
    const res = await w.command('U0CAROL', '/unit-echo', 'admin-things');
    expect(res.text).toBe(denialText(w.deps.config, 'chatops.audit'));
    expect(res.text).toMatch(/\(chatops\.audit; allowed roles: admin\)/);
    expect(await entryOf('U0CAROL', 'chatops.audit')).toMatchObject({ outcome: 'denied' });
    expect(w.homeChanges()).toBe(home);
    expect((await w.command('U0OPS', '/unit-echo', 'admin-things')).text).toBe('echo admin-things');
  });

  it('shows a coded error as written and never the text of any other', async () => {
    expect((await w.command('U0DAN', '/unit-echo', 'refused')).text).toBe(
      ':warning: not today: try tomorrow',
    );
    expect(await entryOf('U0DAN', 'chatops')).toMatchObject({ outcome: 'invalid', detail: 'not_today' });
    expect((await w.command('U0EVE', '/unit-echo', 'denied')).text).toBe(':no_entry: only the owner may');
    const bug = await w.command('U0FAY', '/unit-echo', 'bug');
    expect(bug.text).toMatch(/^:warning: an internal error occurred; .* \(request [0-9a-f-]{36}\)$/);
    expect(bug.text).not.toContain('hunter2');
    expect(await entryOf('U0FAY', 'chatops')).toMatchObject({ outcome: 'failed', detail: 'Error' });
  });

  it('answers within the budget that the work may still happen when it is not confirmed in time', async () => {
    const res = await w.command('U0GUS', '/unit-echo', 'slow');
    expect(res.text).toMatch(/^:warning: Redis did not confirm this in time, so it \*may still run\*/);
    expect(await entryOf('U0GUS', 'chatops')).toMatchObject({ outcome: 'unconfirmed' });
  });

  it('registers a command once, and lists every command in registration order', () => {
    expect(() => registerCommand(w.app, w.deps, echo)).toThrow('/unit-echo is registered twice');
    const names = registeredCommands(w.app).map((c) => c.command);
    expect(names.at(-1)).toBe('/unit-echo');
    expect(names).toContain('/reset-password');
  });
});

describe('clicks', () => {
  it('answers the clicker only, ephemerally in the channel of the message', async () => {
    const res = await w.click('U0ALICE', 'unit_btn_a', 'v1', { channel: 'C0CARDS' });
    expect(res.status).toBe(200);
    expect(await w.answer('C0CARDS', 'U0ALICE')).toBe('clicked unit_btn_a message');
    expect(await entryOf('U0ALICE', 'chatops')).toBeDefined();
    expect(w.slack.callsTo('response_url').at(-1)?.args).toMatchObject({
      response_type: 'ephemeral',
      replace_original: false,
    });
  });

  it("answers a click on Home in the DM and publishes the clicker's Home again", async () => {
    await w.click('U0HAL', 'unit_btn_b', 'v2', 'home');
    expect(await w.answer('U0HAL', 'U0HAL')).toBe('clicked unit_btn_b home');
    expect(published).toContainEqual(['U0HAL']);
  });

  it('authorises a click at the moment of the click', async () => {
    await w.click('U0IVY', 'unit_btn_c', 'admin', { channel: 'C0CARDS' });
    expect(await w.answer('C0CARDS', 'U0IVY')).toBe(denialText(w.deps.config, 'chatops.audit'));
    expect(await entryOf('U0IVY', 'chatops.audit')).toMatchObject({ outcome: 'denied' });
  });

  it('tells the clicker of a button no listener knows that nothing happened', async () => {
    await w.click('U0JO', 'gone_in_v2', 'x', { channel: 'C0OLD' });
    expect(await w.answer('C0OLD', 'U0JO')).toBe(
      ':grey_question: That button (`gone_in_v2`) is not one this bot knows any more, so nothing happened.',
    );
    expect(await entryOf('U0JO', 'click')).toMatchObject({
      outcome: 'invalid',
      target: 'gone_in_v2',
      detail: 'unknown action',
    });
  });

  it('registers a button id once', () => {
    const spec = { actionId: 'unit_once', permission: () => 'chatops', handle: async () => ({}) as never };
    registerAction(w.app, w.deps, spec);
    expect(() => registerAction(w.app, w.deps, spec)).toThrow('action unit_once is registered twice');
  });
});

describe('modal submissions', () => {
  it('keep the modal open with the errors, or close it and tell the outcome in the DM', async () => {
    const kept = await w.submit('U0KIM', 'unit_modal', '', { reason: { value: '' } });
    expect(kept.json).toEqual({ response_action: 'errors', errors: { reason: 'Say why' } });
    const done = await w.submit('U0KIM', 'unit_modal', '', { reason: { value: 'window moved' } });
    expect(done.status).toBe(200);
    expect(done.body).toBe('');
    expect(await w.answer('U0KIM', 'U0KIM')).toBe('noted: window moved');
  });
});

describe('guarded', () => {
  it('changes nothing when Redis did not answer the replay check, and says so', async () => {
    let ran = false;
    const req: RequestContext = {
      requestId: 'req-down',
      userId: 'U0LEE',
      log: w.deps.logger,
      arrivedAt: Date.now(),
      redisDown: true,
      confirmBy: Date.now() + 2_500,
    };
    const out = await guarded(w.deps, req, 'chatops', async () => {
      ran = true;
      return { outcome: 'queued', reply: { text: 'queued' } };
    });
    expect(ran).toBe(false);
    expect(out.outcome).toBe('not-queued');
    expect(out.reply.text).toMatch(/Redis is not answering, so nothing was queued .* \(request req-down\)$/);
  });
});
