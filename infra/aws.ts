import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  MiddlewareStack,
  Pluggable,
} from '@smithy/types';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { UserError } from './errors.js';

/** Called with the IAM action (`iam:GetUser`) of every AWS request the bot sends. */
export type ActionRecorder = (action: string) => void;

// IAM actions whose name differs from the SDK command name.
const ACTION_ALIASES: Record<string, string> = {
  's3:ListObjectsV2': 's3:ListBucket',
  's3:HeadObject': 's3:GetObject',
  's3:HeadBucket': 's3:ListBucket',
  // DeleteObjects is authorised as s3:DeleteObject on each key.
  's3:DeleteObjects': 's3:DeleteObject',
};

const SERVICE_PREFIX: Record<string, string> = {
  IAMClient: 'iam',
  STSClient: 'sts',
  SecretsManagerClient: 'secretsmanager',
  DynamoDBClient: 'dynamodb',
  DataPipelineClient: 'datapipeline',
  S3Client: 's3',
  EC2Client: 'ec2',
};

/** The IAM action for an SDK client and command name (`IAMClient`, `GetUserCommand` → `iam:GetUser`). */
export function iamActionOf(clientName: string, commandName: string): string {
  const prefix = SERVICE_PREFIX[clientName] ?? clientName.replace(/Client$/, '').toLowerCase();
  const action = `${prefix}:${commandName.replace(/Command$/, '')}`;
  return ACTION_ALIASES[action] ?? action;
}

// Permissions a call needs beyond its own action: IAM checks them, the SDK never sends them.
const IMPLIED_ACTIONS: Record<string, string[]> = {
  // The pipeline's definition names DataPipelineDefaultRole and DataPipelineDefaultResourceRole.
  'datapipeline:PutPipelineDefinition': ['iam:PassRole'],
  // DynamoDB writes the export into the target account's bucket as the caller.
  'dynamodb:ExportTableToPointInTime': ['s3:PutObject', 's3:PutObjectAcl', 's3:AbortMultipartUpload'],
  // Associating an instance profile passes its role to EC2.
  'ec2:AssociateIamInstanceProfile': ['iam:PassRole'],
};

/** An SDK plugin that reports each request's IAM action (and the permissions it implies) before it is sent. */
export function recorderPlugin(record: ActionRecorder): Pluggable<object, object> {
  return {
    applyToStack(stack: MiddlewareStack<object, object>) {
      stack.add(
        (next, context) => async (args) => {
          const action = iamActionOf(String(context.clientName), String(context.commandName));
          record(action);
          for (const implied of IMPLIED_ACTIONS[action] ?? []) record(implied);
          // Assuming a role with a SourceIdentity also needs sts:SetSourceIdentity.
          const input = args.input as { SourceIdentity?: string } | undefined;
          if (action === 'sts:AssumeRole' && input?.SourceIdentity) record('sts:SetSourceIdentity');
          return next(args);
        },
        // override: fromTemporaryCredentials applies its clientPlugins again to the same STS client
        // at every refresh; a second add of this name would throw and no credentials would come.
        { step: 'initialize', name: 'chatopsActionRecorder', override: true },
      );
    },
  };
}

// Role session names and source identities allow only [\w+=,.@-].
function sessionSafe(s: string): string {
  return s.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/**
 * Shares one provider's credentials between clients until 5 minutes before they expire (each SDK
 * client memoizes only for itself, so without this every client would assume the role again).
 */
function shared(provider: AwsCredentialIdentityProvider, clock: Clock): AwsCredentialIdentityProvider {
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (c: AwsCredentialIdentity) =>
    !c.expiration || c.expiration.getTime() - clock.now() > 5 * 60_000;
  return async () => {
    if (pending) {
      const c = await pending.catch(() => undefined);
      if (c && fresh(c)) return c;
    }
    const next = provider();
    pending = next;
    next.catch(() => {
      if (pending === next) pending = undefined;
    });
    return next;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: SDK client constructors take service-specific config types
type ClientCtor<C> = new (config: any) => C;
// biome-ignore lint/suspicious/noExplicitAny: each SDK client has its own input/output unions
type SdkClient = { middlewareStack: { use(p: Pluggable<any, any>): void } };

/** Builds AWS SDK clients per account alias, carrying the requesting Slack user into CloudTrail. */
export interface AwsClients {
  /** A client for `alias`; with a roleArn the calls run as that role, session named after `requester`. */
  client<C extends SdkClient>(ctor: ClientCtor<C>, alias: string, requester: string): C;
  /** The account record for an alias, or a UserError naming the known aliases. */
  account(alias: string): Config['accounts'][string];
}

export interface AwsClientsOptions {
  maxAttempts?: number;
  recorder?: ActionRecorder;
  /** More SDK plugins for every client, STS's included (e.g. infra/metrics-adapters.ts awsMetricsPlugin). */
  plugins?: Pluggable<object, object>[];
  /** When the shared credentials near expiry (default: the machine's clock). */
  clock?: Clock;
}

/** The production AwsClients: region from config, STS assume-role where configured, SDK retries on. */
export function createAwsClients(config: Config, opts: AwsClientsOptions = {}): AwsClients {
  const plugins = [...(opts.recorder ? [recorderPlugin(opts.recorder)] : []), ...(opts.plugins ?? [])];
  const account = (alias: string) => {
    const a = config.accounts[alias];
    if (!a) {
      throw new UserError(
        'unknown_account',
        `unknown account "${alias}"; known accounts: ${Object.keys(config.accounts).join(', ')}`,
      );
    }
    return a;
  };
  // One credential provider per account and Slack user: the provider caches the assumed role's
  // session until it nears expiry, so clients built for the same user share one AssumeRole.
  const providers = new Map<string, AwsCredentialIdentityProvider>();
  return {
    account,
    client(ctor, alias, requester) {
      const a = account(alias);
      const key = `${alias}\n${requester}`;
      if (a.roleArn && !providers.has(key)) {
        if (providers.size >= 1_000) providers.clear();
        providers.set(
          key,
          shared(
            fromTemporaryCredentials({
              params: {
                RoleArn: a.roleArn,
                RoleSessionName: sessionSafe(`chatops-${requester}`),
                SourceIdentity: sessionSafe(requester),
                DurationSeconds: 900,
              },
              clientConfig: { region: a.region, maxAttempts: opts.maxAttempts ?? 5 },
              clientPlugins: plugins,
            }),
            opts.clock ?? systemClock,
          ),
        );
      }
      const credentials = a.roleArn ? providers.get(key) : undefined;
      const client = new ctor({ region: a.region, maxAttempts: opts.maxAttempts ?? 5, credentials });
      for (const p of plugins) client.middlewareStack.use(p);
      return client;
    },
  };
}
