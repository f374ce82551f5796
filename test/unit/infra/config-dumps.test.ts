import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config.js';
import { ConfigError } from '../../../infra/errors.js';

const base = {
  timezone: 'Asia/Tokyo',
  accounts: { gghouse: { id: '343881458651', region: 'ap-northeast-1' } },
};

function problems(dumps: unknown): string[] {
  try {
    parseConfig({ ...base, dumps }, '/tmp');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const job = { name: 'ggh_datatransit', cron: '30 5 * * *', prefix: 'dumps/' };

describe('config: dumps', () => {
  it('fills the defaults: key pattern, grace, tolerance', () => {
    const c = parseConfig(
      { ...base, dumps: { account: 'gghouse', bucket: 'jram-gghouse', jobs: [job] } },
      '/tmp',
    );
    expect(c.dumps?.jobs[0]).toEqual({
      ...job,
      keyPattern: '{name}_{YYYYMMDD}',
      graceMinutes: 30,
      sizeTolerancePct: 20,
    });
    expect(c.dumps?.mention).toBeUndefined();
  });

  it('validates the cron with the cron library, naming the key', () => {
    const list = problems({
      account: 'gghouse',
      bucket: 'jram-gghouse',
      jobs: [
        { ...job, cron: '61 5 * * *' },
        { ...job, name: 'b', cron: '@daily' },
        { ...job, name: 'c', cron: '*/10 * * * * *' },
      ],
    });
    expect(list).toHaveLength(2);
    expect(list[0]).toMatch(/^dumps\.jobs\.0\.cron: not a cron schedule: .*0-59/);
    expect(list[1]).toMatch(/^dumps\.jobs\.1\.cron: not a cron schedule: must have 5 fields/);
  });

  it('refuses key patterns whose dates do not sort, unknown placeholders, bad mentions, names listed twice, unknown accounts', () => {
    const list = problems({
      account: 'nope',
      bucket: 'jram-gghouse',
      mention: 'here',
      jobs: [
        { ...job, keyPattern: '{DD}{MM}{YYYY}_{name}' },
        { ...job, name: 'x', keyPattern: '{name}_{date}' },
        { ...job, name: 'y', keyPattern: '{name}' },
        { ...job, name: 'x' },
      ],
    }).join('\n');
    expect(list).toMatch(/dumps\.jobs\.0\.keyPattern: must name the date once/);
    expect(list).toMatch(/dumps\.jobs\.1\.keyPattern: unknown placeholder \{date\}/);
    expect(list).toMatch(/dumps\.jobs\.2\.keyPattern: must name the date/);
    expect(list).toMatch(/dumps\.jobs\.3\.name: listed twice/);
    expect(list).toMatch(/dumps\.mention: must be @here/);
    expect(list).toMatch(/dumps\.account: "nope" is not an alias/);
  });

  it('accepts the mention forms Slack understands', () => {
    for (const mention of ['@here', '@channel', '<@U0ALICE>', '<!subteam^S0SRE>']) {
      expect(problems({ account: 'gghouse', bucket: 'jram-gghouse', mention, jobs: [job] })).toEqual([]);
    }
  });
});
