// The coded errors: what the user is shown, what the logs get, and the generic text for the rest.
import { describe, expect, it } from 'vitest';
import {
  ChatopsError,
  ConfigError,
  DeniedError,
  TransientError,
  UserError,
  userMessage,
} from '../../../infra/errors.js';

describe('coded errors', () => {
  it('carry their code for the logs and their own class name', () => {
    const e = new UserError('no_key', 'alice has no GPG key: add people[].gpgKey');
    expect(e).toBeInstanceOf(ChatopsError);
    expect(e.name).toBe('UserError');
    expect(e.code).toBe('no_key');
    expect(new TransientError('smtp_down', 'x').name).toBe('TransientError');
  });

  it('code a denial as denied', () => {
    const e = new DeniedError('only admins can do that');
    expect([e.code, e.message, e.name]).toEqual(['denied', 'only admins can do that', 'DeniedError']);
  });

  it('list every problem of a configuration, one per line', () => {
    const e = new ConfigError(['PORT: too big', 'SLACK_BOT_TOKEN: required']);
    expect(e.code).toBe('config_invalid');
    expect(e.problems).toEqual(['PORT: too big', 'SLACK_BOT_TOKEN: required']);
    expect(e.message).toBe('invalid configuration:\n  - PORT: too big\n  - SLACK_BOT_TOKEN: required');
  });
});

describe('userMessage', () => {
  it('shows a coded error as written', () => {
    expect(userMessage(new UserError('usage', 'too many arguments'))).toBe('too many arguments');
  });

  it('never shows the text of anything else', () => {
    for (const thrown of [new Error('ECONNREFUSED 10.0.0.7:6379 password=hunter2'), 'a string', undefined]) {
      const shown = userMessage(thrown);
      expect(shown).toBe(
        'an internal error occurred; the operators can find details in the logs by request id',
      );
    }
  });
});
