import { describe, expect, it } from 'vitest';
import {
  makeStyler,
  mrkdwn,
  type RenderContext,
  type RenderedButton,
  renderBlock,
  renderBody,
} from '../../../playground/render.js';

const USERS: Record<string, string> = { U0ALICE: 'alice', UBOT: 'chatops' };
const CHANNELS: Record<string, string> = { C0GENERAL: 'general' };
const names = { user: (id: string) => USERS[id], channel: (id: string) => CHANNELS[id] };

/** A context like the terminal's: one counter for every message, and the buttons it numbered. */
function session(color = false) {
  const buttons = new Map<number, RenderedButton>();
  let seq = 0;
  const ctx: RenderContext = {
    names,
    style: makeStyler(color),
    numberButton(b) {
      seq += 1;
      buttons.set(seq, b);
      return seq;
    },
  };
  return { ctx, buttons };
}

const plain = () => session().ctx;
const md = (text: string) => ({ type: 'mrkdwn', text });
const pt = (text: string) => ({ type: 'plain_text', text });
const btn = (label: string, action_id: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  text: pt(label),
  action_id,
  ...extra,
});

describe('mrkdwn', () => {
  it('drops Slack formatting markers and keeps the words', () => {
    expect(mrkdwn('*Done* in _osio-dev_, ~old~ `code`', plain())).toBe('Done in osio-dev, old `code`');
  });

  it('leaves markers that are not at word edges alone', () => {
    expect(mrkdwn('snake_case_name mailed to a***@example.com', plain())).toBe(
      'snake_case_name mailed to a***@example.com',
    );
  });

  it('styles bold, italic, strike and code with ANSI when colour is on', () => {
    const { ctx } = session(true);
    expect(mrkdwn('*b* _i_ ~s~ `c`', ctx)).toBe(
      '\x1b[1mb\x1b[22m \x1b[3mi\x1b[23m \x1b[9ms\x1b[29m \x1b[36m`c`\x1b[39m',
    );
  });

  it('resolves user and channel mentions, special mentions and links', () => {
    expect(
      mrkdwn(
        '<@U0ALICE> <@U0NOBODY> <@U0X|xavier> in <#C0GENERAL> <#C0OTHER|random> <!here> <https://a.example/x?a=1&amp;b=2> <https://b.example|the docs>',
        plain(),
      ),
    ).toBe(
      '@alice @U0NOBODY @xavier in #general #random @here https://a.example/x?a=1&b=2 the docs (https://b.example)',
    );
  });

  it("shows a <!date> in the reader's zone as Slack does, and its fallback when the format is unknown", () => {
    // 1765000000 is 2025-12-06 05:46:40 UTC.
    const at = 1_765_000_000_000;
    const ctx = (now: number, timeZone = 'UTC') => ({ ...plain(), reader: { timeZone, now } });
    const date = '<!date^1765000000^{date_short_pretty} {time}|2025-12-06 14:46 JST>';
    expect(mrkdwn(`starts ${date}`, ctx(at))).toBe('starts today 05:46');
    expect(mrkdwn(date, ctx(at - 86_400_000))).toBe('tomorrow 05:46');
    expect(mrkdwn(date, ctx(at + 86_400_000))).toBe('yesterday 05:46');
    expect(mrkdwn(date, ctx(at + 7 * 86_400_000))).toBe('Dec 6, 2025 05:46');
    expect(mrkdwn(date, ctx(at, 'Asia/Tokyo'))).toBe('today 14:46');
    expect(mrkdwn('<!date^1765000000^{date_num} {time_secs} ({ago})|x>', ctx(at - 600_000))).toBe(
      '2025-12-06 05:46:40 (in 10 min)',
    );
    expect(mrkdwn('<!date^1765000000^{date_long}|x>', ctx(at))).toBe('Saturday, December 6, 2025');
    expect(mrkdwn('<!date^1765000000^{nonsense}|the fallback>', ctx(at))).toBe('the fallback');
  });

  it('converts known emoji shortcodes and leaves unknown ones and clock times as typed', () => {
    expect(mrkdwn(':white_check_mark: done :+1: :no_such_emoji: at 20:53:45', plain())).toBe(
      '✅ done 👍 :no_such_emoji: at 20:53:45',
    );
  });

  it('does not reformat inside code spans and code blocks, and unescapes their entities', () => {
    expect(mrkdwn('run `a *b* :x: &lt;c&gt;` now', plain())).toBe('run `a *b* :x: <c>` now');
    expect(mrkdwn('before```\nline *1*\n:x: &amp; 2```after', plain())).toBe(
      'before\n  line *1*\n  :x: & 2\nafter',
    );
  });

  it('shows escaped quotes with a bar and unescapes HTML entities', () => {
    expect(mrkdwn('&gt; quoted\nx &lt; y &amp;&amp; z', plain())).toBe('│ quoted\nx < y && z');
  });
});

describe('renderBlock', () => {
  it('renders a section with mrkdwn text, one line per line of text', () => {
    expect(
      renderBlock(
        { type: 'section', text: md(':key: *Resetting* the password of <@U0ALICE>\nrequest r-1') },
        plain(),
      ),
    ).toEqual(['🔑 Resetting the password of @alice', 'request r-1']);
  });

  it('renders plain_text with emoji and entities, without reading mrkdwn markers', () => {
    expect(renderBlock({ type: 'header', text: pt(':package: *Export* &amp; copy') }, plain())).toEqual([
      '📦 *Export* & copy',
    ]);
  });

  it('renders fields as "Title: value", two to a line', () => {
    expect(
      renderBlock(
        {
          type: 'section',
          fields: [md('*Account*\nosio'), md('*Table*\n`prod_txlog`'), md('*State*\nrunning')],
        },
        plain(),
      ),
    ).toEqual([`${'Account: osio'.padEnd(40)}  Table: \`prod_txlog\``, 'State: running']);
  });

  it('joins a field of one or three lines with a dot, and lists wide fields one per line', () => {
    const wide = 'w'.repeat(41);
    expect(
      renderBlock({ type: 'section', fields: [md('a\nb\nc'), md('single'), md(wide), md('next')] }, plain()),
    ).toEqual([`${'a · b · c'.padEnd(40)}  single`, wide, 'next']);
  });

  it('joins context elements with a middle dot, images as their alt text', () => {
    expect(
      renderBlock(
        {
          type: 'context',
          elements: [md('request <@U0ALICE>'), pt('updated 20:53 UTC'), { type: 'image', alt_text: 'logo' }],
        },
        plain(),
      ),
    ).toEqual(['request @alice  ·  updated 20:53 UTC  ·  [image: logo]']);
  });

  it('dims every line of a context block when colour is on', () => {
    const { ctx } = session(true);
    expect(renderBlock({ type: 'context', elements: [md('one\ntwo')] }, ctx)).toEqual([
      '\x1b[2mone\x1b[22m',
      '\x1b[2mtwo\x1b[22m',
    ]);
  });

  it('numbers buttons and records what a click must send back; link buttons are not numbered', () => {
    const { ctx, buttons } = session();
    expect(
      renderBlock(
        {
          type: 'actions',
          block_id: 'approval',
          elements: [
            btn(':white_check_mark: Approve', 'approve', { value: 'req-1', style: 'primary' }),
            btn('Deny', 'deny', { value: 'req-1', style: 'danger' }),
            btn('Docs', 'docs', { url: 'https://docs.example' }),
          ],
        },
        ctx,
      ),
    ).toEqual(['[1: ✅ Approve]  [2: Deny]  [Docs] (opens https://docs.example)']);
    expect([...buttons]).toEqual([
      [1, { actionId: 'approve', value: 'req-1', blockId: 'approval', label: '✅ Approve' }],
      [2, { actionId: 'deny', value: 'req-1', blockId: 'approval', label: 'Deny' }],
    ]);
  });

  it('colours primary buttons green and danger buttons red', () => {
    const { ctx } = session(true);
    expect(
      renderBlock(
        {
          type: 'actions',
          elements: [btn('Go', 'go', { style: 'primary' }), btn('Stop', 'stop', { style: 'danger' })],
        },
        ctx,
      ),
    ).toEqual(['\x1b[32m[1: Go]\x1b[39m  \x1b[31m[2: Stop]\x1b[39m']);
  });

  it('labels a button without text by its action id, with no block id when the block has none', () => {
    const { ctx, buttons } = session();
    expect(renderBlock({ type: 'actions', elements: [{ type: 'button', action_id: 'retry' }] }, ctx)).toEqual(
      ['[1: retry]'],
    );
    expect(buttons.get(1)).toEqual({ actionId: 'retry', value: '', label: 'retry' });
  });

  it("keeps a button's confirm dialog for the click, and draws the button as Slack does (no dialog yet)", () => {
    const { ctx, buttons } = session();
    const confirm = {
      title: pt('Approve phase 3?'),
      text: pt('Stop i-1 and start it again.'),
      confirm: pt('Approve'),
      deny: pt('Not yet'),
    };
    expect(
      renderBlock(
        { type: 'actions', elements: [btn('Approve', 'mig_approve', { value: 'p3-1', confirm })] },
        ctx,
      ),
    ).toEqual(['[1: Approve]']);
    expect(buttons.get(1)?.confirm).toEqual({
      title: 'Approve phase 3?',
      text: 'Stop i-1 and start it again.',
      confirm: 'Approve',
    });
  });

  it("puts a section's accessory beside the last line of its text", () => {
    const { ctx, buttons } = session();
    expect(
      renderBlock(
        {
          type: 'section',
          block_id: 'b1',
          text: md('line one\nline two'),
          accessory: btn('Cancel', 'cancel'),
        },
        ctx,
      ),
    ).toEqual(['line one', 'line two  [1: Cancel]']);
    expect(buttons.get(1)?.blockId).toBe('b1');
    expect(renderBlock({ type: 'section', accessory: { type: 'image', alt_text: 'chart' } }, ctx)).toEqual([
      '[image: chart]',
    ]);
  });

  it('renders headers, dividers and images', () => {
    const ctx = plain();
    expect(renderBlock({ type: 'header', text: pt('Password reset') }, ctx)).toEqual(['Password reset']);
    expect(renderBlock({ type: 'divider' }, ctx)).toEqual(['─'.repeat(40)]);
    expect(renderBlock({ type: 'image', alt_text: 'graph', image_url: 'https://x' }, ctx)).toEqual([
      '[image: graph]',
    ]);
  });

  it('renders rich text: sections, mentions, links, emoji, lists and code', () => {
    expect(
      renderBlock(
        {
          type: 'rich_text',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'emoji', name: 'wave' },
                { type: 'text', text: ' hi ' },
                { type: 'user', user_id: 'U0ALICE' },
                { type: 'text', text: ' in ' },
                { type: 'channel', channel_id: 'C0GENERAL' },
                { type: 'text', text: ', see ' },
                { type: 'link', url: 'https://x.example', text: 'this' },
                { type: 'text', text: ' ' },
                { type: 'emoji', name: 'unknown_one' },
              ],
            },
            {
              type: 'rich_text_list',
              elements: [
                { type: 'rich_text_section', elements: [{ type: 'text', text: 'first' }] },
                { type: 'rich_text_section', elements: [{ type: 'link', url: 'https://y.example' }] },
              ],
            },
            { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'ls -l' }] },
            { type: 'rich_text_quote', elements: [{ type: 'text', text: 'said so' }] },
          ],
        },
        plain(),
      ),
    ).toEqual([
      '👋 hi @alice in #general, see this (https://x.example) :unknown_one:',
      '• first',
      '• https://y.example',
      'ls -l',
      '│ said so',
    ]);
  });

  it('shows unknown blocks and elements as a dim placeholder instead of crashing', () => {
    const ctx = plain();
    expect(renderBlock({ type: 'video', title: pt('x') }, ctx)).toEqual(['[video block]']);
    expect(renderBlock({ text: md('no type') }, ctx)).toEqual(['[undefined block]']);
    expect(
      renderBlock(
        {
          type: 'actions',
          elements: [{ type: 'static_select' }, { type: 'carousel' }, null, 'text', btn('OK', 'ok')],
        },
        ctx,
      ),
    ).toEqual(['[static_select (not clickable in the playground)]  [carousel]      [1: OK]']);
    expect(renderBlock(null, ctx)).toEqual([]);
    expect(renderBlock('section', ctx)).toEqual([]);
    expect(renderBlock({ type: 'section', text: 'not an object', fields: 'nope' }, ctx)).toEqual([]);
    expect(renderBlock({ type: 'context' }, ctx)).toEqual(['']);
    expect(renderBlock({ type: 'rich_text', elements: [42, { type: 'mystery' }] }, ctx)).toEqual(['', '']);
  });
});

describe('renderBody', () => {
  it('renders the blocks, indented, when a message has any, not its fallback text', () => {
    expect(
      renderBody(
        {
          text: 'fallback only',
          blocks: [
            { type: 'header', text: pt('Title') },
            { type: 'section', text: md('*body*') },
          ],
        },
        plain(),
      ),
    ).toEqual(['  Title', '  body']);
  });

  it('renders the text as mrkdwn when there are no blocks', () => {
    expect(renderBody({ text: ':x: *Failed*\nsee <@U0ALICE>', blocks: [] }, plain())).toEqual([
      '  ❌ Failed',
      '  see @alice',
    ]);
    expect(renderBody({}, plain())).toEqual(['  ']);
  });

  it('trims blank lines around the message but keeps those inside it', () => {
    expect(renderBody({ text: '\n\n  \nfirst\n\nlast\n\n' }, plain())).toEqual(['  first', '  ', '  last']);
  });

  it('numbers buttons in order across messages with one shared counter', () => {
    const { ctx, buttons } = session();
    const first = renderBody(
      {
        blocks: [
          { type: 'section', text: md('Approve?'), accessory: btn('Details', 'details') },
          {
            type: 'actions',
            block_id: 'a1',
            elements: [btn('Approve', 'approve', { value: 'r1' }), btn('Deny', 'deny')],
          },
        ],
      },
      ctx,
    );
    const second = renderBody(
      {
        blocks: [{ type: 'actions', block_id: 'a2', elements: [btn('Approve', 'approve', { value: 'r2' })] }],
      },
      ctx,
    );
    expect(first).toEqual(['  Approve?  [1: Details]', '  [2: Approve]  [3: Deny]']);
    expect(second).toEqual(['  [4: Approve]']);
    expect(buttons.get(2)).toEqual({ actionId: 'approve', value: 'r1', blockId: 'a1', label: 'Approve' });
    expect(buttons.get(4)).toEqual({ actionId: 'approve', value: 'r2', blockId: 'a2', label: 'Approve' });
  });

  it('shows long text whole, neither truncated nor wrapped', () => {
    const long = `${'word '.repeat(600)}end`;
    const lines = renderBody({ blocks: [{ type: 'section', text: md(long) }] }, plain());
    expect(lines).toEqual([`  ${long}`]);
    expect(lines[0]).toHaveLength(3005);
    const many = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n');
    const rendered = renderBody({ text: many }, plain());
    expect(rendered).toHaveLength(200);
    expect(rendered[199]).toBe('  line 199');
  });

  it('survives a message mixing unknown, malformed and known blocks', () => {
    expect(
      renderBody(
        {
          blocks: [null, { type: 'file', external_id: 'x' }, 7, { type: 'section', text: md('still here') }],
        },
        plain(),
      ),
    ).toEqual(['  [file block]', '  still here']);
  });
});
