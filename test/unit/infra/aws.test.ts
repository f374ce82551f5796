// AWS clients per account alias against moto: the IAM action of every call (for the policy test), the
// role each call runs as (named after the Slack user), and one AssumeRole shared by a user's clients
// until its credentials near expiry by the given clock.
import { AssociateIamInstanceProfileCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { createAwsClients, iamActionOf, recorderPlugin } from '../../../infra/aws.js';
import { UserError } from '../../../infra/errors.js';
import { createMetrics } from '../../../infra/metrics.js';
import { awsMetricsPlugin } from '../../../infra/metrics-adapters.js';
import { testConfig } from '../../helpers/config.js';
import { useMoto } from '../../helpers/moto.js';

useMoto();

const config = testConfig({
  accounts: {
    plain: { id: '111111111111', region: 'us-east-1' },
    roled: {
      id: '222222222222',
      region: 'ap-northeast-1',
      roleArn: 'arn:aws:iam::222222222222:role/chatops-bot',
    },
  },
  resetPassword: { mailFrom: 'chatops@example.com' },
});

describe('iamActionOf', () => {
  it('names the IAM action of a client and command, with the aliases IAM uses', () => {
    expect(iamActionOf('IAMClient', 'GetUserCommand')).toBe('iam:GetUser');
    expect(iamActionOf('S3Client', 'ListObjectsV2Command')).toBe('s3:ListBucket');
    expect(iamActionOf('S3Client', 'HeadObjectCommand')).toBe('s3:GetObject');
    expect(iamActionOf('S3Client', 'DeleteObjectsCommand')).toBe('s3:DeleteObject');
    expect(iamActionOf('SecretsManagerClient', 'GetSecretValueCommand')).toBe(
      'secretsmanager:GetSecretValue',
    );
    expect(iamActionOf('CloudWatchLogsClient', 'PutLogEventsCommand')).toBe('cloudwatchlogs:PutLogEvents');
  });
});

describe('recorderPlugin', () => {
  it('records each call and the permissions it implies before it is sent', async () => {
    const actions: string[] = [];
    // Nothing listens there: the call never reaches AWS, and is recorded all the same.
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });
    // The plugin is typed for every client alike (object in and out), as createAwsClients uses it.
    ec2.middlewareStack.use(recorderPlugin((a) => actions.push(a)) as never);
    const associate = new AssociateIamInstanceProfileCommand({
      InstanceId: 'i-0123456789abcdef0',
      IamInstanceProfile: { Name: 'none' },
    });
    await ec2.send(associate).catch(() => undefined);
    ec2.destroy();
    expect(actions).toEqual(['ec2:AssociateIamInstanceProfile', 'iam:PassRole']);
  });
});

describe('createAwsClients', () => {
  it('refuses an unknown alias, naming the known ones', () => {
    const aws = createAwsClients(config);
    expect(() => aws.account('mars')).toThrow(UserError);
    expect(() => aws.client(STSClient, 'mars', 'U0ALICE')).toThrow(
      'unknown account "mars"; known accounts: plain, roled',
    );
    expect(aws.account('roled').region).toBe('ap-northeast-1');
  });

  it('runs calls in an account with a role as that role, the session named after the Slack user', async () => {
    const actions: string[] = [];
    const aws = createAwsClients(config, { recorder: (a) => actions.push(a), maxAttempts: 1 });
    const plain = aws.client(STSClient, 'plain', 'U0ALICE');
    expect(await plain.config.region()).toBe('us-east-1');
    const me = await aws.client(STSClient, 'roled', 'U0ALICE').send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe('arn:aws:sts::222222222222:assumed-role/chatops-bot/chatops-U0ALICE');
    // The call is recorded first; its credentials (the role assumed with a source identity) come after.
    expect(actions).toEqual(['sts:GetCallerIdentity', 'sts:AssumeRole', 'sts:SetSourceIdentity']);
  });

  it("shares one AssumeRole among a user's clients until its credentials near expiry, then assumes it again", async () => {
    let now = Date.now();
    const actions: string[] = [];
    // The plugins production gives every client, STS's included: the metrics and the recorder.
    const metrics = createMetrics({ defaultMetrics: false });
    const aws = createAwsClients(config, {
      recorder: (a) => actions.push(a),
      plugins: [awsMetricsPlugin(metrics)],
      clock: { now: () => now },
      maxAttempts: 1,
    });
    const who = (user: string) => aws.client(STSClient, 'roled', user).send(new GetCallerIdentityCommand({}));
    const assumed = () => actions.filter((a) => a === 'sts:AssumeRole').length;

    await who('U0ALICE');
    await who('U0ALICE');
    expect(assumed()).toBe(1);
    await who('U0BOB');
    expect(assumed()).toBe(2);
    // The role's credentials last 15 minutes; 11 minutes on, they are within 5 minutes of expiry.
    now += 11 * 60_000;
    await who('U0ALICE');
    expect(assumed()).toBe(3);
    expect(await metrics.render()).toContain('chatops_aws_api_calls_total{service="sts",result="ok"} 7');
  });
});
