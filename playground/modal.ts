// Modals in the terminal: the view a button opened (views.open, recorded by the fake Slack) drawn as
// text, and its submission sent back as Slack sends it: a signed `view_submission` with the inputs'
// values in `view.state.values`.
import { type RenderContext, renderBlock } from './render.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string {
  return isObj(v) && typeof v.text === 'string' ? v.text : '';
}

/** One text input of a modal: where its value goes in `state.values`, and what it starts with. */
export interface ModalInput {
  blockId: string;
  actionId: string;
  label: string;
  initial: string;
  optional: boolean;
}

/** The plain-text inputs of a view, in order (other input kinds are not typed into in the playground). */
export function modalInputs(view: unknown): ModalInput[] {
  const blocks = isObj(view) && Array.isArray(view.blocks) ? view.blocks : [];
  return blocks.flatMap((b): ModalInput[] => {
    if (!isObj(b) || b.type !== 'input' || !isObj(b.element)) return [];
    if (b.element.type !== 'plain_text_input') return [];
    return [
      {
        blockId: typeof b.block_id === 'string' ? b.block_id : '',
        actionId: typeof b.element.action_id === 'string' ? b.element.action_id : '',
        label: text(b.label),
        initial: typeof b.element.initial_value === 'string' ? b.element.initial_value : '',
        optional: b.optional === true,
      },
    ];
  });
}

/** The modal as lines: title, its blocks with each input's current text, and how to answer it. */
export function renderModal(view: unknown, ctx: RenderContext): string[] {
  if (!isObj(view)) return [];
  const inputs = modalInputs(view);
  const lines: string[] = [];
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  for (const b of blocks) {
    const input = isObj(b) ? inputs.find((i) => i.blockId === b.block_id) : undefined;
    if (input) {
      const value = input.initial ? input.initial.replace(/\n/g, ' ⏎ ') : ctx.style('dim', '(empty)');
      const optional =
        input.optional && !/optional/i.test(input.label) ? ctx.style('dim', ' (optional)') : '';
      lines.push(`${ctx.style('bold', input.label)}${optional}: ${value}`);
    } else if (isObj(b) && b.type === 'input') {
      lines.push(
        `${ctx.style('bold', text(b.label))}: ${ctx.style('dim', '(not typed into in the playground)')}`,
      );
    } else {
      lines.push(...renderBlock(b, ctx));
    }
  }
  const submit = text(view.submit) || 'Submit';
  const close = text(view.close) || 'Cancel';
  const how =
    inputs.length === 0
      ? `/submit presses "${submit}"`
      : inputs.length === 1
        ? `/submit [TEXT] types TEXT and presses "${submit}"`
        : `/submit FIELD=TEXT sets one of ${inputs.map((i) => i.blockId).join(', ')} (the others keep their text) and presses "${submit}"`;
  return [
    `${ctx.style('bold', `▣ ${text(view.title) || 'Modal'}`)}`,
    ...lines.map((l) => `  ${l}`),
    `  ${ctx.style('bold', `[${submit}]`)}  ${ctx.style('dim', `[${close}]`)}`,
    ctx.style('dim', `  (${how}; /close presses "${close}")`),
  ];
}

/**
 * The values to submit: each input keeps its text unless `typed` sets it, as `TEXT` (the only or
 * first input) or `FIELD=TEXT` (the input whose block id or label is FIELD).
 */
export function submitValues(inputs: ModalInput[], typed: string): Record<string, string> {
  const values = Object.fromEntries(inputs.map((i) => [i.blockId, i.initial]));
  const t = typed.trim();
  if (!t) return values;
  const named = /^([\w-]+)=([\s\S]*)$/.exec(t);
  const target = named
    ? inputs.find(
        (i) => i.blockId === named[1] || i.label.toLowerCase() === (named[1] as string).toLowerCase(),
      )
    : undefined;
  if (named && target) values[target.blockId] = (named[2] as string).trim();
  else if (named && inputs.length > 1)
    throw new Error(
      `the modal has no field "${named[1]}"; its fields are ${inputs.map((i) => i.blockId).join(', ')}`,
    );
  else if (inputs[0]) values[inputs[0].blockId] = t;
  else throw new Error('the modal has nothing to type into: /submit alone presses its button');
  return values;
}

/** The form body Slack posts when someone presses a modal's submit button. */
export function viewSubmissionBody(input: {
  view: unknown;
  viewId: string;
  user: { id: string; name: string };
  values: Record<string, string>;
  teamId?: string;
}): string {
  const view = isObj(input.view) ? input.view : {};
  const teamId = input.teamId ?? 'T0DEVKIT';
  const inputs = modalInputs(view);
  const state: Record<string, Record<string, { type: string; value: string | null }>> = {};
  for (const i of inputs) {
    const value = input.values[i.blockId] ?? i.initial;
    state[i.blockId] = { [i.actionId]: { type: 'plain_text_input', value: value === '' ? null : value } };
  }
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: 'devkit' },
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: teamId },
    api_app_id: 'A0DEVKIT',
    token: 'devkit-verification-token',
    trigger_id: `${Date.now()}.1.playground`,
    view: {
      ...view,
      id: input.viewId,
      team_id: teamId,
      type: 'modal',
      hash: `${Date.now()}.playground`,
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      state: { values: state },
      root_view_id: input.viewId,
      previous_view_id: null,
      app_id: 'A0DEVKIT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
