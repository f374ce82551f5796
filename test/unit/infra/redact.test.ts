// What of an address or a URL may be logged or shown: the domain of an address, a URL without its
// credentials, query or fragment, and nothing of what does not parse.
import { describe, expect, it } from 'vitest';
import { maskEmail, redactUrl } from '../../../infra/redact.js';

const PASSWORD = 's3cretpass';

describe('maskEmail', () => {
  it.each([
    ['alice@example.com', 'a***@example.com'],
    ['a@example.com', 'a***@example.com'],
    ['Bob.Smith+aws@corp.example.org', 'B***@corp.example.org'],
    ['@example.com', '***@example.com'],
    ['weird"@"local@example.com', 'w***@example.com'],
    ['not-an-address', '***'],
    ['', '***'],
  ])('%s → %s', (input, masked) => {
    expect(maskEmail(input)).toBe(masked);
  });
});

describe('redactUrl', () => {
  it('drops credentials, query and fragment', () => {
    expect(redactUrl(`smtp://user:${PASSWORD}@mail.example.com:587`)).toBe('smtp://mail.example.com:587');
    expect(redactUrl(`smtps://mail.example.com/?pass=${PASSWORD}#x`)).toBe('smtps://mail.example.com');
    expect(redactUrl('smtp://mail.example.com')).toBe('smtp://mail.example.com');
  });

  it('shows nothing of an unparseable value', () => {
    expect(redactUrl(PASSWORD)).toBe('[unparseable URL]');
  });
});
