// Where a world is seeded: moto, and the accounts as the bot's config names them. Seeding calls assume
// each account's role, as the bot does, so moto files what they create under that account's id.
import { type BucketLocationConstraint, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

export interface WorldAccount {
  id: string;
  region: string;
  roleArn?: string;
}

export interface WorldTarget {
  /** moto's URL, e.g. http://127.0.0.1:5123 */
  endpoint: string;
  /** Account alias → id, region and the role the seeding assumes (the config's `accounts`). */
  accounts: Readonly<Record<string, WorldAccount>>;
  /** The role session name of the seeding calls (default `world-seed`). */
  requester?: string;
}

// Moto takes any key; these never leave the machine.
const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

// biome-ignore lint/suspicious/noExplicitAny: SDK client constructors take service-specific config types
export type ClientCtor<C> = new (config: any) => C;

/**
 * A client for `alias` in the world. Built anew on each call: after moto is reset, a session
 * assumed before would land in moto's default account.
 */
export function worldClient<C>(target: WorldTarget, ctor: ClientCtor<C>, alias: string): C {
  const account = target.accounts[alias];
  if (!account)
    throw new Error(`the world has no account "${alias}": ${Object.keys(target.accounts).join(', ')}`);
  const { endpoint } = target;
  const credentials = account.roleArn
    ? fromTemporaryCredentials({
        masterCredentials: MOTO_CREDENTIALS,
        params: { RoleArn: account.roleArn, RoleSessionName: target.requester ?? 'world-seed' },
        clientConfig: { region: account.region, endpoint },
      })
    : MOTO_CREDENTIALS;
  return new ctor({ region: account.region, endpoint, credentials });
}

const ALREADY = new Set([
  'EntityAlreadyExists',
  'EntityAlreadyExistsException',
  'BucketAlreadyOwnedByYou',
  'BucketAlreadyExists',
  'ResourceInUseException',
  'ResourceExistsException',
  'TableAlreadyExistsException',
  'LimitExceeded',
]);

/** Runs a create call; "already exists" counts as done, so seeding a moto twice is safe. */
export async function ensure(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error && ALREADY.has(err.name)) return;
    throw err;
  }
}

/** Runs `tasks` at most `concurrency` at a time (moto answers one by one anyway). */
export async function inBatches(tasks: (() => Promise<unknown>)[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      for (let task = tasks[next++]; task; task = tasks[next++]) await task();
    }),
  );
}

/** Creates `bucket` in the account's region unless it is there. */
export async function ensureBucket(target: WorldTarget, alias: string, bucket: string): Promise<void> {
  const region = target.accounts[alias]?.region ?? 'us-east-1';
  await ensure(
    worldClient(target, S3Client, alias).send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    ),
  );
}
