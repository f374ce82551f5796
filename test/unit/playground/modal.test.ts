import { describe, expect, it } from 'vitest';
import { modalInputs, renderModal, submitValues, viewSubmissionBody } from '../../../playground/modal.js';
import { makeStyler, type RenderContext } from '../../../playground/render.js';

const pt = (text: string) => ({ type: 'plain_text', text });
const input = (blockId: string, label: string, extra: Record<string, unknown> = {}, optional = false) => ({
  type: 'input',
  block_id: blockId,
  optional,
  label: pt(label),
  element: { type: 'plain_text_input', action_id: 'value', ...extra },
});

const rejectView = {
  type: 'modal',
  callback_id: 'mig_reject_submit',
  private_metadata: 'p3-1a2b3c4d',
  title: pt('Reject phase 3'),
  submit: pt('Reject'),
  close: pt('Keep it'),
  blocks: [input('reason', 'Reason (optional)', { max_length: 300 }, true)],
};

const editView = {
  type: 'modal',
  callback_id: 'mw_edit_submit',
  private_metadata: 'mw-1',
  title: pt('Maintenance notice'),
  submit: pt('Save'),
  blocks: [
    input('impact', 'Impact', { initial_value: 'Down.\nAll of it.' }),
    input('contact', 'Contact', { initial_value: 'ops' }),
  ],
};

const ctx: RenderContext = {
  names: { user: () => undefined, channel: () => undefined },
  style: makeStyler(false),
  numberButton: () => 0,
};

function payloadOf(body: string): {
  type: string;
  user: { id: string };
  view: {
    callback_id: string;
    private_metadata: string;
    state: { values: Record<string, Record<string, unknown>> };
  };
} {
  return JSON.parse(new URLSearchParams(body).get('payload') as string);
}

describe('modals in the playground', () => {
  it('finds the plain-text inputs with their block ids, labels and initial text', () => {
    expect(modalInputs(editView)).toEqual([
      {
        blockId: 'impact',
        actionId: 'value',
        label: 'Impact',
        initial: 'Down.\nAll of it.',
        optional: false,
      },
      { blockId: 'contact', actionId: 'value', label: 'Contact', initial: 'ops', optional: false },
    ]);
    expect(modalInputs({ blocks: [{ type: 'section', text: pt('hi') }] })).toEqual([]);
  });

  it('draws the modal with its fields and says how to answer it', () => {
    expect(renderModal(rejectView, ctx)).toEqual([
      '▣ Reject phase 3',
      '  Reason (optional): (empty)',
      '  [Reject]  [Keep it]',
      '  (/submit [TEXT] types TEXT and presses "Reject"; /close presses "Keep it")',
    ]);
    const edit = renderModal(editView, ctx);
    expect(edit).toContain('  Impact: Down. ⏎ All of it.');
    expect(edit.at(-1)).toMatch(/\/submit FIELD=TEXT sets one of impact, contact/);
  });

  it('puts typed text into the only field, or into the field named by FIELD=, keeping the others', () => {
    expect(submitValues(modalInputs(rejectView), '  not on a Friday ')).toEqual({
      reason: 'not on a Friday',
    });
    expect(submitValues(modalInputs(rejectView), '')).toEqual({ reason: '' });
    expect(submitValues(modalInputs(editView), 'contact=ops, on call')).toEqual({
      impact: 'Down.\nAll of it.',
      contact: 'ops, on call',
    });
    expect(submitValues(modalInputs(editView), 'Contact=carol')).toMatchObject({ contact: 'carol' });
    expect(() => submitValues(modalInputs(editView), 'owner=carol')).toThrow(
      /no field "owner".*impact, contact/,
    );
    expect(() => submitValues([], 'text')).toThrow(/nothing to type into/);
  });

  it('builds the view_submission Slack posts: the user, the callback id, the metadata and state.values', () => {
    const body = viewSubmissionBody({
      view: rejectView,
      viewId: 'V0PLAY1',
      user: { id: 'U0DAVE', name: 'dave' },
      values: { reason: 'not on a Friday' },
    });
    const p = payloadOf(body);
    expect(p.type).toBe('view_submission');
    expect(p.user.id).toBe('U0DAVE');
    expect(p.view.callback_id).toBe('mig_reject_submit');
    expect(p.view.private_metadata).toBe('p3-1a2b3c4d');
    expect(p.view.state.values).toEqual({
      reason: { value: { type: 'plain_text_input', value: 'not on a Friday' } },
    });
    // An empty optional field arrives as null, as Slack sends it.
    const empty = payloadOf(
      viewSubmissionBody({
        view: rejectView,
        viewId: 'V0PLAY2',
        user: { id: 'U0DAVE', name: 'dave' },
        values: {},
      }),
    );
    expect(empty.view.state.values.reason).toEqual({ value: { type: 'plain_text_input', value: null } });
  });
});
