// The config the /migration handler tests run with: an admin, two approvers and a migration section.
import type { Config } from '../../../../infra/config.js';
import { testConfig } from '../../../helpers/config.js';

export function migrationTestConfig(extra: Record<string, unknown> = {}): Config {
  return testConfig({
    roles: { admin: ['U0OPS'], approver: ['U0DAVE', 'U0ERIN'] },
    migration: {
      account: 'osio',
      instanceId: 'i-0123456789abcdef0',
      role: 'cron-role',
      instanceProfile: 'cron-profile',
      secretId: 'cron-secret',
      bucket: 'jram-gghouse',
    },
    ...extra,
  });
}
