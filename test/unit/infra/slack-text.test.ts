import { describe, expect, it } from 'vitest';
import {
  commandText,
  escapeSlack,
  parseMention,
  quoteSlack,
  unescapeSlack,
} from '../../../infra/slack-text.js';

const INJECTIONS = ['<!channel>', '<!here>', '<@U0EVIL>', '<https://x|y>'];

describe('escapeSlack and quoteSlack', () => {
  it('escape the three characters Slack reads as control sequences, and only those', () => {
    expect(escapeSlack('a & b < c > d "e" \'f\' `g`')).toBe('a &amp; b &lt; c &gt; d "e" \'f\' `g`');
    for (const s of INJECTIONS) expect(escapeSlack(s)).not.toMatch(/[<>]/);
  });

  it('quoteSlack cuts before escaping, so an entity is never cut in half', () => {
    expect(quoteSlack('<'.repeat(10), 3)).toBe('&lt;&lt;&lt;…');
    expect(quoteSlack('short', 10)).toBe('short');
  });
});

describe('commandText: what the person typed, from what Slack sent', () => {
  it("decodes Slack's entities once: & < > come back as typed", () => {
    expect(commandText('Fix A &amp; B &lt;now&gt;')).toBe('Fix A & B <now>');
    // A person who typed an entity gets it back as typed, not decoded a second time.
    expect(commandText('&amp;lt;')).toBe('&lt;');
    expect(unescapeSlack('&amp;amp;')).toBe('&amp;');
  });

  it('keeps the mentions Slack added itself, and trims', () => {
    expect(commandText('  <@U0BOB|bob> osio ')).toBe('<@U0BOB|bob> osio');
  });

  it('round-trips with escapeSlack: decoded once, escaped once, never &amp;amp;', () => {
    for (const typed of ['A & B', '<!here> & <@U1>', '&amp;', 'a > b']) {
      const sent = escapeSlack(typed); // what Slack posts
      const read = commandText(sent);
      expect(read).toBe(typed.trim());
      expect(escapeSlack(read)).toBe(sent);
    }
    expect(escapeSlack(commandText('A &amp; B'))).toBe('A &amp; B');
  });
});

describe('parseMention', () => {
  it('reads <@U…|name> and <@U…> (and W… ids of Enterprise Grid)', () => {
    expect(parseMention('<@U0BOB|bob>')).toEqual({ id: 'U0BOB', label: 'bob' });
    expect(parseMention('<@U0BOB>')).toEqual({ id: 'U0BOB' });
    expect(parseMention('<@W0BOB|bob>')).toEqual({ id: 'W0BOB', label: 'bob' });
  });

  it('refuses everything else: plain names, channels, specials, links, lower case, trailing text', () => {
    for (const s of [
      '@bob',
      'bob',
      '<#C0GEN|general>',
      '<!here>',
      '<https://x|y>',
      '<@u0bob>',
      '<@U0BOB>x',
      '<@U0BOB|a|b>',
      '&lt;@U0BOB&gt;',
      '',
    ]) {
      expect(parseMention(s), s).toBeUndefined();
    }
  });
});
