// The "Export DynamoDB table to S3" pipeline of the Data Pipeline developer guide, for one table.
// Pure: no AWS calls, so the exact objects are unit-tested.
import type { ParameterObject, ParameterValue, PipelineObject } from '@aws-sdk/client-data-pipeline';

/** Table names end up in a shell command inside the pipeline: nothing else gets through. */
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

// S3 bucket naming rules; the bucket also ends up in the post-step shell command.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

// The template's EMR step: AWS's DynamoDB export tool, read from the table's region.
const EXPORT_STEP =
  's3://dynamodb-dpl-#{myDDBRegion}/emr-ddb-storage-handler/4.11.0/emr-dynamodb-tools-4.11.0-SNAPSHOT-jar-with-dependencies.jar,' +
  'org.apache.hadoop.dynamodb.tools.DynamoDBExport,#{output.directoryPath},#{input.tableName},#{input.readThroughputPercent}';

export const ACTIVITY_ID = 'TableBackupActivity';

export interface ExportDefinitionInput {
  table: string;
  bucket: string;
  /** Region of the table (the source account's region). */
  region: string;
  /** Share of the table's read capacity the export may use, 0.1–1. */
  readThroughputRatio: number;
}

export interface ExportDefinition {
  pipelineObjects: PipelineObject[];
  parameterObjects: ParameterObject[];
  parameterValues: ParameterValue[];
}

/** Where the export of `table` goes: `s3://<bucket>/backups/<table>`. */
export function outputLocation(bucket: string, table: string): string {
  return `s3://${bucket}/backups/${table}`;
}

/** The pipeline's log location: `s3://<bucket>/logs`. */
export function logLocation(bucket: string): string {
  return `s3://${bucket}/logs`;
}

/** The runbook's post-step command: the bucket owner (the target account) gets full control of the files. */
export function postStepCommand(bucket: string, table: string): string {
  const out = `${outputLocation(bucket, table)}/`;
  return `aws s3 cp ${out} ${out} --recursive --acl bucket-owner-full-control --storage-class STANDARD`;
}

/** Throws when a name could break out of the shell command or the S3 path (defence in depth: the handler checks first). */
export function assertSafeNames(table: string, bucket: string): void {
  if (!TABLE_NAME.test(table)) throw new Error(`unsafe table name ${JSON.stringify(table.slice(0, 40))}`);
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new Error(`unsafe bucket name ${JSON.stringify(bucket.slice(0, 70))}`);
  }
}

type FieldSpec = Record<string, string | { ref: string }>;

function object(id: string, fields: FieldSpec): PipelineObject {
  return {
    id,
    name: id,
    fields: Object.entries(fields).map(([key, v]) =>
      typeof v === 'string' ? { key, stringValue: v } : { key, refValue: v.ref },
    ),
  };
}

function parameter(id: string, attrs: Record<string, string>): ParameterObject {
  return { id, attributes: Object.entries(attrs).map(([key, stringValue]) => ({ key, stringValue })) };
}

/**
 * The pipeline objects, parameters and values. The objects carry the concrete table, paths and
 * ratio (what the console shows and what is checked after the put); the template's parameters are
 * declared with the same values so the console's parameter view matches.
 */
export function exportDefinition(input: ExportDefinitionInput): ExportDefinition {
  const { table, bucket, region } = input;
  assertSafeNames(table, bucket);
  const ratio = input.readThroughputRatio.toFixed(2);
  const output = outputLocation(bucket, table);
  const pipelineObjects = [
    object('Default', {
      scheduleType: 'ONDEMAND',
      failureAndRerunMode: 'CASCADE',
      role: 'DataPipelineDefaultRole',
      resourceRole: 'DataPipelineDefaultResourceRole',
      pipelineLogUri: `${logLocation(bucket)}/`,
    }),
    object('DDBSourceTable', {
      type: 'DynamoDBDataNode',
      tableName: table,
      readThroughputPercent: ratio,
    }),
    object('S3BackupLocation', {
      type: 'S3DataNode',
      // One folder per run, named after its start time, as the template does.
      directoryPath: `${output}/#{format(@scheduledStartTime, 'YYYY-MM-dd-HH-mm-ss')}`,
    }),
    object('EmrClusterForBackup', {
      type: 'EmrCluster',
      releaseLabel: 'emr-5.23.0',
      masterInstanceType: 'm5.xlarge',
      coreInstanceType: 'm5.xlarge',
      coreInstanceCount: '1',
      region,
    }),
    object(ACTIVITY_ID, {
      type: 'EmrActivity',
      input: { ref: 'DDBSourceTable' },
      output: { ref: 'S3BackupLocation' },
      runsOn: { ref: 'EmrClusterForBackup' },
      maximumRetries: '2',
      resizeClusterBeforeRunning: 'true',
      step: EXPORT_STEP,
      postStepCommand: postStepCommand(bucket, table),
    }),
  ];
  const parameterObjects = [
    parameter('myDDBTableName', { type: 'String', description: 'Source DynamoDB table name' }),
    parameter('myOutputS3Loc', { type: 'AWS::S3::ObjectKey', description: 'Output S3 folder' }),
    parameter('myDDBReadThroughputRatio', {
      type: 'Double',
      default: '0.25',
      watermark: 'Enter value between 0.1-1.0',
      description: 'DynamoDB read throughput ratio',
    }),
    parameter('myDDBRegion', {
      type: 'String',
      default: 'us-east-1',
      description: 'Region of the DynamoDB table',
    }),
  ];
  const parameterValues = [
    { id: 'myDDBTableName', stringValue: table },
    { id: 'myOutputS3Loc', stringValue: output },
    { id: 'myDDBReadThroughputRatio', stringValue: ratio },
    { id: 'myDDBRegion', stringValue: region },
  ];
  return { pipelineObjects, parameterObjects, parameterValues };
}
