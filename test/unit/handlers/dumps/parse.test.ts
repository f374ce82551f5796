import { describe, expect, it } from 'vitest';
import { parseDumpsArgs } from '../../../../handlers/dumps/parse.js';
import { UserError } from '../../../../infra/errors.js';

describe('/dumps arguments', () => {
  it('parses status, check and check <job>; refuses the rest', () => {
    expect(parseDumpsArgs('')).toEqual({ sub: 'status' });
    expect(parseDumpsArgs('status')).toEqual({ sub: 'status' });
    expect(parseDumpsArgs('check')).toEqual({ sub: 'check' });
    expect(parseDumpsArgs(' check  TenantsALL ')).toEqual({ sub: 'check', job: 'TenantsALL' });
    expect(() => parseDumpsArgs('check a b')).toThrow(UserError);
    expect(() => parseDumpsArgs('check <!here>')).toThrow(/is not a dump job name/);
    expect(() => parseDumpsArgs('purge')).toThrow(/unknown subcommand "purge"/);
  });
});
