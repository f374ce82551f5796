// The /ddb-export world: DynamoDB tables in the source account (point-in-time recovery on or off) and
// the backup bucket in the target account that the exports land in.
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { ensure, ensureBucket, type WorldTarget, worldClient } from './aws.js';

export interface WorldTable {
  name: string;
  /** The hash key's attribute (a string; default `id`). */
  key?: string;
  /** The items: as given, or this many `{ <key>: item-<n> }`. */
  items?: number | Record<string, AttributeValue>[];
  /** Point-in-time recovery, which --native exports need (default off). */
  pitr?: boolean;
}

export interface DdbExportWorldOptions extends WorldTarget {
  /** The account alias the tables live in. */
  source: string;
  tables: readonly WorldTable[];
  /** The backup bucket, created in `target` when both are given. */
  target?: string;
  bucket?: string;
}

/** Creates a table (unless there), waits for it, writes its items and sets its point-in-time recovery. */
export async function seedTable(target: WorldTarget, alias: string, t: WorldTable): Promise<void> {
  const ddb = worldClient(target, DynamoDBClient, alias);
  const key = t.key ?? 'id';
  await ensure(
    ddb.send(
      new CreateTableCommand({
        TableName: t.name,
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    ),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: t.name });
  const items =
    typeof t.items === 'number'
      ? Array.from({ length: t.items }, (_, i) => ({ [key]: { S: `item-${i}` } }))
      : (t.items ?? []);
  // BatchWriteItem takes 25 at a time.
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await ddb.send(new BatchWriteItemCommand({ RequestItems: { [t.name]: batch } }));
  }
  if (t.pitr) {
    await ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: t.name,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    );
  }
}

/** Seeds the tables and the backup bucket; every step tolerates "already exists". */
export async function seedDdbExportWorld(o: DdbExportWorldOptions): Promise<void> {
  for (const t of o.tables) await seedTable(o, o.source, t);
  if (o.target && o.bucket) {
    await ensureBucket(o, o.target, o.bucket);
  }
}
