import { describe, expect, it } from 'vitest';
import {
  exportDefinition,
  logLocation,
  outputLocation,
  postStepCommand,
} from '../../../../jobs/ddb-export/definition.js';

const BUCKET = 'dynamodb-migration-backups-osio';
const def = exportDefinition({
  table: 'prod_txlog',
  bucket: BUCKET,
  region: 'us-east-1',
  readThroughputRatio: 0.25,
});

function obj(id: string) {
  const o = def.pipelineObjects.find((x) => x.id === id);
  if (!o) throw new Error(`no object ${id}`);
  const fields: Record<string, string> = {};
  for (const f of o.fields ?? []) fields[f.key as string] = (f.stringValue ?? `ref:${f.refValue}`) as string;
  return fields;
}

describe('the "Export DynamoDB table to S3" pipeline definition', () => {
  it("has the runbook's paths: output under backups/<table>, logs under logs", () => {
    expect(outputLocation(BUCKET, 'prod_txlog')).toBe(`s3://${BUCKET}/backups/prod_txlog`);
    expect(logLocation(BUCKET)).toBe(`s3://${BUCKET}/logs`);
    expect(obj('Default')).toMatchObject({
      scheduleType: 'ONDEMAND',
      failureAndRerunMode: 'CASCADE',
      role: 'DataPipelineDefaultRole',
      resourceRole: 'DataPipelineDefaultResourceRole',
      pipelineLogUri: `s3://${BUCKET}/logs/`,
    });
    expect(obj('S3BackupLocation')).toEqual({
      type: 'S3DataNode',
      directoryPath: `s3://${BUCKET}/backups/prod_txlog/#{format(@scheduledStartTime, 'YYYY-MM-dd-HH-mm-ss')}`,
    });
  });

  it('reads the named table at the configured share of its capacity', () => {
    expect(obj('DDBSourceTable')).toEqual({
      type: 'DynamoDBDataNode',
      tableName: 'prod_txlog',
      readThroughputPercent: '0.25',
    });
    expect(obj('EmrClusterForBackup')).toMatchObject({ type: 'EmrCluster', region: 'us-east-1' });
  });

  it('runs the export step on the cluster, then the exact post-step command of the runbook', () => {
    const activity = obj('TableBackupActivity');
    expect(activity).toMatchObject({
      type: 'EmrActivity',
      input: 'ref:DDBSourceTable',
      output: 'ref:S3BackupLocation',
      runsOn: 'ref:EmrClusterForBackup',
    });
    expect(activity.step).toMatch(
      /^s3:\/\/dynamodb-dpl-#\{myDDBRegion\}\/.*\.jar,org\.apache\.hadoop\.dynamodb\.tools\.DynamoDBExport,#\{output\.directoryPath\},#\{input\.tableName\},#\{input\.readThroughputPercent\}$/,
    );
    expect(activity.postStepCommand).toBe(
      'aws s3 cp s3://dynamodb-migration-backups-osio/backups/prod_txlog/ s3://dynamodb-migration-backups-osio/backups/prod_txlog/ --recursive --acl bucket-owner-full-control --storage-class STANDARD',
    );
    expect(postStepCommand(BUCKET, 'prod_txlog')).toBe(activity.postStepCommand);
  });

  it("declares the template's parameters with this export's values, and every #{my…} reference has one", () => {
    const values = Object.fromEntries(def.parameterValues.map((v) => [v.id, v.stringValue]));
    expect(values).toEqual({
      myDDBTableName: 'prod_txlog',
      myOutputS3Loc: `s3://${BUCKET}/backups/prod_txlog`,
      myDDBReadThroughputRatio: '0.25',
      myDDBRegion: 'us-east-1',
    });
    expect(def.parameterObjects.map((p) => p.id).sort()).toEqual(Object.keys(values).sort());
    const refs = JSON.stringify(def.pipelineObjects).match(/#\{(my\w+)\}/g) ?? [];
    for (const r of refs) expect(values).toHaveProperty(r.slice(2, -1));
  });

  it('refuses a table or bucket name that could break out of the shell command', () => {
    for (const table of ['a;rm -rf /', '$(id)', 'x'.repeat(256), 'ab', 'a b', '`id`']) {
      expect(() =>
        exportDefinition({ table, bucket: BUCKET, region: 'us-east-1', readThroughputRatio: 0.25 }),
      ).toThrow(/unsafe table name/);
    }
    for (const bucket of ['my bucket', 'b;id', 'UPPER', 'a..b']) {
      expect(() =>
        exportDefinition({ table: 'prod_txlog', bucket, region: 'us-east-1', readThroughputRatio: 0.25 }),
      ).toThrow(/unsafe bucket name/);
    }
  });
});
