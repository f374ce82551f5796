// The announcement's Edit details button and its modal: the button opens the modal prefilled with the
// window's texts; the submission changes them (store.ts's guarded edit) and queues the edit of the
// announcement.
import type { ViewOutput } from '@slack/bolt';
import type { View } from '@slack/types';
import type { BotDeps, Outcome } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import {
  editWindow,
  getWindow,
  MAINTENANCE_QUEUE,
  type MaintenanceWindow,
  type NoticeData,
  noticeJobId,
} from '../../jobs/maintenance/index.js';
import { wstore } from './core.js';
import { windowId } from './parse.js';

/** The Edit modal, prefilled with the window's texts. */
export function editModal(w: MaintenanceWindow): View {
  const input = (
    id: keyof Pick<MaintenanceWindow, 'impact' | 'purpose' | 'rollback' | 'contact'>,
    label: string,
  ) => ({
    type: 'input' as const,
    block_id: id,
    label: { type: 'plain_text' as const, text: label },
    element: {
      type: 'plain_text_input' as const,
      action_id: 'value',
      initial_value: w[id],
      multiline: id !== 'contact',
      max_length: 1000,
    },
  });
  return {
    type: 'modal',
    callback_id: 'mw_edit_submit',
    private_metadata: w.id,
    title: { type: 'plain_text', text: 'Maintenance notice' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      input('impact', 'Impact'),
      input('purpose', 'Purpose'),
      input('rollback', 'Rollback plan'),
      input('contact', 'Contact'),
    ],
  };
}

function modalValue(view: ViewOutput, block: string): string {
  return (view.state.values[block]?.value?.value ?? '').trim();
}

/** The Edit details button (its value the window id): opens the modal while the window has not ended. */
export async function openEdit(click: { value: string; triggerId: string }, deps: BotDeps): Promise<Outcome> {
  const w = await getWindow(wstore(deps), windowId(click.value));
  if (!w) throw new UserError('unknown_window', `the window \`${click.value}\` no longer exists`);
  if (w.state !== 'scheduled' && w.state !== 'in-progress') {
    return {
      outcome: 'invalid',
      target: w.id,
      detail: w.state,
      reply: { text: `\`${w.id}\` is ${w.state}; it can no longer be edited.` },
    };
  }
  await deps.slack?.views.open({ trigger_id: click.triggerId, view: editModal(w) });
  return {
    outcome: 'succeeded',
    target: w.id,
    detail: 'edit opened',
    reply: { text: `Editing \`${w.id}\`…` },
  };
}

/** The modal's submission: every field needs text; then the texts change and the announcement is edited. */
export async function submitEdit(
  view: ViewOutput,
  req: RequestContext,
  deps: BotDeps,
): Promise<Outcome & { errors?: Record<string, string> }> {
  const id = windowId(view.private_metadata);
  const texts = {
    impact: modalValue(view, 'impact'),
    purpose: modalValue(view, 'purpose'),
    rollback: modalValue(view, 'rollback'),
    contact: modalValue(view, 'contact'),
  };
  const empty = Object.entries(texts).filter(([, v]) => !v);
  if (empty.length) {
    return {
      outcome: 'invalid',
      target: id,
      reply: { text: 'Every field needs text.' },
      errors: Object.fromEntries(empty.map(([k]) => [k, 'Cannot be empty'])),
    };
  }
  const found = await editWindow(wstore(deps), id, texts);
  if (found !== 'scheduled' && found !== 'in-progress') {
    return {
      outcome: 'invalid',
      target: id,
      detail: found,
      reply: { text: `\`${id}\` is ${found}; nothing changed.` },
    };
  }
  const w = (await getWindow(wstore(deps), id)) as MaintenanceWindow;
  const n = { notice: 'edit' as const, due: deps.clock.now() };
  const data: NoticeData = { requestId: req.requestId, requester: req.userId, windowId: w.id, ...n };
  // One job per version of the texts: a second edit queues its own.
  const jobId = `${noticeJobId(w.id, n)}-${w.version}`;
  await deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, { jobId, confirmBy: req.confirmBy });
  return {
    outcome: 'succeeded',
    target: id,
    reply: { text: `:pencil2: Updated the notice of \`${id}\`; the announcement is being edited.` },
  };
}
