// The announcement's Edit details button and its modal (handlers/maintenance/edit.ts) against the real
// Redis and BullMQ queues and the fake Slack: the modal opens prefilled while the window is open; a
// submission with every field changes the texts and queues the announcement's edit.
import type { ViewOutput } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { editModal, openEdit, submitEdit } from '../../../../handlers/maintenance/edit.js';
import { UserError } from '../../../../infra/errors.js';
import { cancelWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import { useBot } from './world.js';

const bot = useBot();

const store = () => ({ redis: bot.deps.redis, prefix: bot.deps.env.CHATOPS_REDIS_PREFIX });
const submission = (id: string, texts: Record<string, string>) =>
  ({
    private_metadata: id,
    state: {
      values: Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, { value: { value: v } }])),
    },
  }) as unknown as ViewOutput;
const TEXTS = { impact: ' None ', purpose: 'Patch', rollback: 'Revert', contact: '@ops' };

describe('the Edit modal', () => {
  it("is prefilled with the window's texts, the contact on one line", async () => {
    const w = await bot.window('Modal', undefined, undefined, { impact: 'Some <impact>' });
    const view = editModal(w);
    expect(view).toMatchObject({ type: 'modal', callback_id: 'mw_edit_submit', private_metadata: w.id });
    const inputs = (
      view.blocks as { block_id: string; element: { initial_value: string; multiline: boolean } }[]
    ).map((b) => [b.block_id, b.element.initial_value, b.element.multiline]);
    expect(inputs).toEqual([
      ['impact', 'Some <impact>', true],
      ['purpose', w.purpose, true],
      ['rollback', w.rollback, true],
      ['contact', w.contact, false],
    ]);
  });

  it('opens on the button while the window is open, through the Web API', async () => {
    const w = await bot.window('Open');
    const out = await openEdit({ value: w.id, triggerId: 'trigger-1' }, bot.deps);
    expect(out).toEqual({
      outcome: 'succeeded',
      target: w.id,
      detail: 'edit opened',
      reply: { text: `Editing \`${w.id}\`…` },
    });
    const call = await bot.slack.waitFor('views.open');
    expect(call.args).toMatchObject({ trigger_id: 'trigger-1', view: { private_metadata: w.id } });
  });

  it('does not open for a window that ended, nor one that is gone', async () => {
    const w = await bot.window('Ended');
    await cancelWindow(store(), w.id);
    expect(await openEdit({ value: w.id, triggerId: 't' }, bot.deps)).toMatchObject({
      outcome: 'invalid',
      detail: 'cancelled',
      reply: { text: `\`${w.id}\` is cancelled; it can no longer be edited.` },
    });
    await expect(openEdit({ value: 'mw-dead', triggerId: 't' }, bot.deps)).rejects.toThrow(UserError);
    await expect(openEdit({ value: 'not-an-id', triggerId: 't' }, bot.deps)).rejects.toThrow(
      /is not a window id/,
    );
  });

  it('saves the texts (trimmed) and queues the edit of the announcement, one job per version', async () => {
    const w = await bot.window('Saved');
    const out = await submitEdit(submission(w.id, TEXTS), bot.request(), bot.deps);
    expect(out).toEqual({
      outcome: 'succeeded',
      target: w.id,
      reply: { text: `:pencil2: Updated the notice of \`${w.id}\`; the announcement is being edited.` },
    });
    expect(await getWindow(store(), w.id)).toMatchObject({ impact: 'None', contact: '@ops', version: 2 });
    expect((await bot.job(`${w.id}-edit-2`))?.data).toMatchObject({ notice: 'edit', windowId: w.id });
    await submitEdit(submission(w.id, { ...TEXTS, purpose: 'Patch again' }), bot.request(), bot.deps);
    expect(await bot.job(`${w.id}-edit-3`)).toBeDefined();
  });

  it('keeps the modal open on empty fields, and changes nothing of a window that ended', async () => {
    const w = await bot.window('Refused');
    expect(
      await submitEdit(submission(w.id, { ...TEXTS, purpose: '  ', contact: '' }), bot.request(), bot.deps),
    ).toEqual({
      outcome: 'invalid',
      target: w.id,
      reply: { text: 'Every field needs text.' },
      errors: { purpose: 'Cannot be empty', contact: 'Cannot be empty' },
    });
    await cancelWindow(store(), w.id);
    expect(await submitEdit(submission(w.id, TEXTS), bot.request(), bot.deps)).toMatchObject({
      outcome: 'invalid',
      detail: 'cancelled',
    });
    expect((await getWindow(store(), w.id))?.impact).toBe(w.impact);
    expect(await bot.job(`${w.id}-edit-3`)).toBeUndefined();
  });
});
