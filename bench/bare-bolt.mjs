// Baseline for `npm run bench`: a bare Bolt 5 app that verifies the signature and acks, nothing else.
// Plain JS so it needs no build. Configured like the bot (same receiver, ids given, no token
// verification, no conversation store) so the difference measured is the bot's own work.
// With BENCH_ENQUEUE=1 (bare+q in bench/slash-load.ts) it also adds one BullMQ job per command before
// acking, like the bot's /reset-password does: the price of the enqueue alone, measured in the same run.
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const port = Number(process.env.PORT ?? 3000);

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  endpoints: '/slack/events',
  logLevel: LogLevel.WARN,
  processBeforeResponse: false,
  customRoutes: [
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ready"}');
      },
    },
  ],
});

const app = new App({
  receiver,
  token: process.env.SLACK_BOT_TOKEN,
  // Given, so Bolt never calls auth.test (neither at start nor per request).
  botId: process.env.BENCH_BOT_ID ?? 'B0CHATOPS',
  botUserId: process.env.BENCH_BOT_USER_ID ?? 'U0CHATOPS',
  tokenVerificationEnabled: false,
  convoStore: false,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

if (process.env.BENCH_ENQUEUE === '1') {
  // Loaded only in this mode, so the plain baseline's memory and start-up stay Bolt's own.
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  const queue = new Queue('reset-password', { connection: redis, prefix: process.env.CHATOPS_REDIS_PREFIX });
  let seq = 0;
  app.command(/.*/, async ({ command, ack }) => {
    seq += 1;
    const job = await queue.add(
      command.user_id,
      { requestId: `${process.pid}-${seq}`, requester: command.user_id },
      { jobId: `rp-${process.pid}-${seq}`, deduplication: { id: `bench/${command.user_id}` } },
    );
    await ack({ response_type: 'ephemeral', text: `:key: queued (job ${job.id})` });
  });
} else {
  app.command(/.*/, async ({ ack }) => {
    await ack();
  });
}

await app.start(port);

const stop = () => {
  app.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
