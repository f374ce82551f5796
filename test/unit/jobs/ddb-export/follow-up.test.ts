import { describe, expect, it } from 'vitest';
import { followUpText } from '../../../../jobs/ddb-export/follow-up.js';
import { testDdbExportConfig } from '../../../helpers/config.js';

const cfg = testDdbExportConfig();

describe('follow-up', () => {
  it("writes the runbook's follow-up: bucket, restore manual, access", () => {
    const text = followUpText(cfg, 'datapipeline', ['prod_txlog', 'users'], []);
    expect(text).toContain('I have created a backup of all the requested tables (`prod_txlog`, `users`)');
    expect(text).toContain('used a Data Pipeline to have that backup created in the "osio-dev" account');
    expect(text).toContain(
      'https://docs.aws.amazon.com/datapipeline/latest/DeveloperGuide/dp-importexport-ddb-part1.html',
    );
    expect(text).toContain('"dynamodb-migration-backups-osio" (you should have read access to it)');
    expect(text).toContain('Good luck!');
    const native = followUpText(
      { ...cfg, restoreManualUrl: 'https://wiki.example.com/restore' },
      'native',
      ['a12'],
      ['b12'],
    );
    expect(native).toContain('https://wiki.example.com/restore');
    expect(native).toContain("used DynamoDB's export to S3");
    expect(native).toContain('`b12` could not be exported');
  });
});
