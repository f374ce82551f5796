// Data Pipeline and DynamoDB native exports as far as the bot uses them, as SDK-level fakes
// (aws-sdk-client-mock): moto has no QueryObjects and never finishes a pipeline. Only for what
// moto cannot do; the rest of a test stays on moto.
import {
  ActivatePipelineCommand,
  CreatePipelineCommand,
  DataPipelineClient,
  DescribeObjectsCommand,
  DescribePipelinesCommand,
  ListPipelinesCommand,
  PutPipelineDefinitionCommand,
  type PutPipelineDefinitionOutput,
  QueryObjectsCommand,
} from '@aws-sdk/client-data-pipeline';
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { iamActionOf } from '../../infra/aws.js';
import type { Stack } from './stack.js';

export interface Instance {
  component: string;
  status: string;
  error?: string;
}
/** What a table's run looks like at status check number `poll` (0 = the first). */
export type Script = (poll: number) => Instance[];

export const activity = (status: string, error?: string): Instance => ({
  component: 'TableBackupActivity',
  status,
  ...(error ? { error } : {}),
});
export const cluster = (status: string): Instance => ({ component: 'EmrClusterForBackup', status });

/** Data Pipeline as far as the bot uses it, with idempotent CreatePipeline and paginated ListPipelines. */
export class FakeDataPipeline {
  readonly mock = mockClient(DataPipelineClient);
  readonly pipelines: { id: string; name: string; uniqueId: string; state: string }[] = [];
  readonly scripts = new Map<string, Script>();
  readonly polls = new Map<string, number>();
  readonly objects = new Map<string, Instance>();
  putResult: PutPipelineDefinitionOutput = {
    errored: false,
    validationWarnings: [
      { id: 'S3BackupLocation', warnings: ['Unable to validate the S3 bucket: access denied'] },
    ],
  };
  throttleNextQuery = 0;
  pageSize = 2;

  constructor(others = 0) {
    for (let i = 0; i < others; i++) this.pipelines.push(this.make(`other_table_${i}`, `other-${i}`));
    this.mock.on(ListPipelinesCommand).callsFake((input: { marker?: string }) => {
      const start = input.marker ? Number(input.marker) : 0;
      const page = this.pipelines.slice(start, start + this.pageSize);
      const more = start + this.pageSize < this.pipelines.length;
      return {
        pipelineIdList: page.map((p) => ({ id: p.id, name: p.name })),
        hasMoreResults: more,
        ...(more ? { marker: String(start + this.pageSize) } : {}),
      };
    });
    this.mock.on(DescribePipelinesCommand).callsFake((input: { pipelineIds: string[] }) => ({
      pipelineDescriptionList: this.pipelines
        .filter((p) => input.pipelineIds.includes(p.id))
        .map((p) => ({
          pipelineId: p.id,
          name: p.name,
          fields: [
            { key: '@pipelineState', stringValue: p.state },
            { key: 'uniqueId', stringValue: p.uniqueId },
          ],
        })),
    }));
    this.mock.on(CreatePipelineCommand).callsFake((input: { name: string; uniqueId: string }) => {
      let p = this.pipelines.find((x) => x.uniqueId === input.uniqueId);
      if (!p) {
        p = this.make(input.name, input.uniqueId);
        this.pipelines.push(p);
      }
      return { pipelineId: p.id };
    });
    this.mock.on(PutPipelineDefinitionCommand).callsFake(() => this.putResult);
    this.mock.on(ActivatePipelineCommand).callsFake((input: { pipelineId: string }) => {
      const p = this.byId(input.pipelineId);
      p.state = 'SCHEDULED';
      return {};
    });
    this.mock.on(QueryObjectsCommand).callsFake((input: { pipelineId: string; sphere: string }) => {
      if (this.throttleNextQuery > 0) {
        this.throttleNextQuery--;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
      }
      const p = this.byId(input.pipelineId);
      const poll = this.polls.get(p.id) ?? 0;
      this.polls.set(p.id, poll + 1);
      const instances = (this.scripts.get(p.name) ?? (() => []))(poll);
      const ids = instances.map((inst, i) => {
        const id = `@${inst.component}_${p.id}_${poll}_${i}`;
        this.objects.set(id, inst);
        return id;
      });
      expect(input.sphere).toBe('INSTANCE');
      return { ids, hasMoreResults: false };
    });
    this.mock.on(DescribeObjectsCommand).callsFake((input: { objectIds: string[] }) => ({
      pipelineObjects: input.objectIds.map((id) => {
        const o = this.objects.get(id) as Instance;
        return {
          id,
          name: id,
          fields: [
            { key: '@status', stringValue: o.status },
            { key: '@componentParent', refValue: o.component },
            ...(o.error ? [{ key: 'errorMessage', stringValue: o.error }] : []),
          ],
        };
      }),
      hasMoreResults: false,
    }));
  }

  private make(name: string, uniqueId: string) {
    return {
      id: `df-${String(this.pipelines.length + 1).padStart(4, '0')}${name.toUpperCase()}`,
      name,
      uniqueId,
      state: 'PENDING',
    };
  }

  byId(id: string) {
    const p = this.pipelines.find((x) => x.id === id);
    if (!p) throw Object.assign(new Error('not found'), { name: 'PipelineNotFoundException', $metadata: {} });
    return p;
  }

  byName(name: string) {
    return this.pipelines.filter((p) => p.name === name);
  }

  count(cmd: new (input: never) => unknown): number {
    // biome-ignore lint/suspicious/noExplicitAny: any command class of this client
    return this.mock.commandCalls(cmd as any).length;
  }
}

/** Native exports: the table has PITR on; the export goes IN_PROGRESS, then `final` after `after` checks. */
export function fakeDynamoDb(
  final: { ExportStatus: string; FailureCode?: string; FailureMessage?: string },
  after = 2,
) {
  const mock = mockClient(DynamoDBClient);
  let checks = 0;
  const arn = 'arn:aws:dynamodb:us-east-1:386414299200:table/prod_txlog/export/01700000000000-abcdef12';
  mock.on(DescribeTableCommand).callsFake((input: { TableName: string }) => ({
    Table: {
      TableName: input.TableName,
      TableArn: `arn:aws:dynamodb:us-east-1:386414299200:table/${input.TableName}`,
    },
  }));
  mock.on(DescribeContinuousBackupsCommand).resolves({
    ContinuousBackupsDescription: {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED' },
    },
  });
  mock
    .on(ExportTableToPointInTimeCommand)
    .resolves({ ExportDescription: { ExportArn: arn, ExportStatus: 'IN_PROGRESS' } });
  mock.on(DescribeExportCommand).callsFake(() => {
    checks++;
    return {
      ExportDescription: {
        ExportArn: arn,
        ...(checks > after ? final : { ExportStatus: 'IN_PROGRESS' }),
        ItemCount: 42,
      },
    };
  });
  return { mock, arn };
}

/** Adds the actions the fakes answered to the stack's record, as the recorder would have named them. */
export function recordFakedActions(
  s: Stack,
  fakes: { dp?: FakeDataPipeline; ddb?: ReturnType<typeof fakeDynamoDb> },
): void {
  for (const call of fakes.dp?.mock.calls() ?? [])
    s.actions.add(iamActionOf('DataPipelineClient', call.args[0].constructor.name));
  for (const call of fakes.ddb?.mock.calls() ?? [])
    s.actions.add(iamActionOf('DynamoDBClient', call.args[0].constructor.name));
}
