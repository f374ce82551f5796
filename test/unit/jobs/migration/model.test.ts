// Model-based test of /migration (fast-check `fc.commands`): random sequences of requests, approvals
// (by approvers, non-approvers and the requester), rejections, retries, roll backs (button and
// command), window cancels and extensions, config changes (instance, profile, approvers, quorum),
// workers killed or stalled mid-step, time passing, and AWS and Slack errors, against the real code
// on the real Redis (test/unit/jobs/migration/model-world.ts). After every step:
//  (1) no change reaches AWS unless, at that moment, the quorum of the approvers configured now
//      approved the hash of exactly the plan being executed (and its window is open);
//  (2) each change at most once per run job;
//  (3) no request stays running without a live job longer than the lock time plus the watchdog's period;
//  (4) every failure is on its card with Retry and Roll back, and posted in the approvals channel;
//  (5) no two operations on one request overlap (and a refused click changes nothing).
// MODEL_RUNS sets the number of sequences (default 300); MODEL_SEED replays one. On a failure
// fast-check prints the seed, the path and the shrunk sequence of commands.
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Fault, INITIAL, type Knobs, MIN, reached, World } from './model-world.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

type Cmd = fc.AsyncCommand<object, World>;

function command(name: string, act: (w: World) => Promise<string> | string): Cmd {
  return {
    check: () => true,
    async run(_m, w) {
      let out: string;
      try {
        out = await act(w);
      } catch (err) {
        // A refusal answered to a person (a UserError) is an outcome; anything else is a finding.
        if (!(err instanceof Error) || err.name !== 'UserError') throw err;
        out = `refused: ${err.message}`;
      }
      w.trace.push(`${name} -> ${out}`);
      await w.checkStuck();
      await w.checkFailuresShown();
      w.checkEscaped();
      if (w.violations.length)
        throw new Error(
          `invariants broken after "${name}":\n  ${w.violations.join('\n  ')}\ntrace:\n  ${w.trace.join('\n  ')}`,
        );
    },
    toString: () => name,
  };
}

const users = ['U0OPS', 'U0DAVE', 'U0ERIN', 'U0FRED', 'U0ALICE'] as const;
const mutating = [
  'StopInstances',
  'AssociateIamInstanceProfile',
  'StartInstances',
  'DisassociateIamInstanceProfile',
];
const reads = ['DescribeInstances', 'DescribeIamInstanceProfileAssociations'];

const knobs: fc.Arbitrary<Knobs> = fc.record({
  instance: fc.constantFrom(0, 0, 1),
  profile: fc.constantFrom(0, 0, 1),
  approvers: fc.constantFrom(
    INITIAL.approvers,
    ['U0DAVE', 'U0ERIN'],
    ['U0ERIN', 'U0FRED', 'U0OPS'],
    ['U0DAVE'],
  ),
  quorum: fc.constantFrom(1, 2, 2, 3),
});

const fault = (kinds: Fault['kind'][], ops: string[]) =>
  fc.record({ op: fc.constantFrom(...ops), kind: fc.constantFrom(...kinds) });

/** An arbitrary `n` times in the list: fc.commands picks uniformly among the entries. */
const weight = <T>(n: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T>[] =>
  Array.from({ length: n }, () => arb);

const untilStart = (w: World) => w.pass(Math.max(1_000, w.windowStart - w.now + 1_000));

const commands: fc.Arbitrary<Cmd>[] = [
  fc.constant(command('request', (w) => w.phase3Request())),
  ...weight(
    2,
    fc
      .constantFrom(['U0DAVE', 'U0ERIN'], ['U0ERIN', 'U0FRED'], ['U0DAVE', 'U0OPS'])
      .map(([a = '', b = '']) =>
        command(`${a} and ${b} approve`, async (w) => `${await w.approve(a)}, ${await w.approve(b)}`),
      ),
  ),
  fc.constantFrom(...users).map((u) => command(`approve ${u}`, (w) => w.approve(u))),
  fc.constantFrom('U0DAVE', 'U0ERIN').map((u) => command(`reject ${u}`, (w) => w.reject(u))),
  ...weight(
    2,
    fc.constantFrom('U0OPS', 'U0DAVE', 'U0ALICE').map((u) => command(`retry ${u}`, (w) => w.retry(u))),
  ),
  ...weight(
    2,
    fc
      .constantFrom('U0OPS', 'U0ERIN')
      .map((u) => command(`roll back (button) ${u}`, (w) => w.rollbackButton(u))),
  ),
  fc.constant(command('/migration rollback 3', (w) => w.rollbackCommand())),
  fc.constant(command('cancel the window', (w) => w.cancelWindow())),
  fc.constantFrom(10, 40).map((m) => command(`extend the window ${m} min`, (w) => w.extendWindow(m))),
  knobs.map((k) => command(`config ${JSON.stringify(k)}`, (w) => w.reconfigure(k))),
  fc.constant(command('config as at first', (w) => w.reconfigure(INITIAL))),
  ...weight(4, fc.constant(command('worker step', (w) => w.workerStep()))),
  fc.constant(command('until the window starts', (w) => untilStart(w).then(() => 'ok'))),
  // A worker at the window start, with something going wrong at one of its calls: killed before or
  // after the call reached AWS, stuck there (its lock lapses; it may go on later), AWS refusing, or
  // AWS applying the change and the answer lost.
  ...weight(
    4,
    fault(
      ['kill-before', 'kill-after', 'pause', 'refuse', 'lost-answer'],
      [
        'StopInstances',
        'AssociateIamInstanceProfile',
        'StartInstances',
        'DisassociateIamInstanceProfile',
        ...reads,
      ],
    ).map((f) =>
      command(`a worker runs the next due job; ${f.kind} at its ${f.op}`, async (w) => {
        w.aws.faults.push(f);
        if (f.op !== 'DisassociateIamInstanceProfile') await untilStart(w);
        return w.workerStep();
      }),
    ),
  ),
  fault(['kill-before', 'kill-after', 'pause', 'refuse', 'lost-answer'], [...mutating, ...reads]).map((f) =>
    command(`${f.kind} at the next ${f.op}`, (w) => {
      w.aws.faults.push(f);
      return 'armed';
    }),
  ),
  ...weight(2, fc.constant(command('the stuck worker goes on', (w) => w.resume()))),
  fc.integer({ min: 1, max: 3 }).map((n) =>
    command(`Slack fails the next ${n} calls`, (w) => {
      w.slack.failNext = n;
      return 'armed';
    }),
  ),
  ...weight(
    2,
    fc
      .constantFrom(10_000, 40_000, 3 * MIN, 12 * MIN)
      .map((ms) => command(`${ms / 1000} s pass`, (w) => w.pass(ms).then(() => 'ok'))),
  ),
];

/** Where a sequence starts: a request pending, approved, or approved with its window started. */
const prelude = fc.constantFrom('pending', 'approved', 'window started');

/** The end of a sequence: faults healed, workers and time run until nothing is due; the invariants hold still. */
async function settle(w: World): Promise<void> {
  w.aws.faults = [];
  w.slack.failNext = 0;
  for (let i = 0; i < 16; i++) {
    if (w.anyDue()) await w.workerStep();
    else await w.pass(30_000);
  }
  await w.checkStuck();
  await w.checkFailuresShown();
  if (w.violations.length)
    throw new Error(
      `invariants broken at the end:\n  ${w.violations.join('\n  ')}\ntrace:\n  ${w.trace.join('\n  ')}`,
    );
}

const RUNS = Number(process.env.MODEL_RUNS ?? 300);
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;

describe('/migration as a state machine (model-based)', () => {
  it(`keeps the invariants of issue 21 over ${RUNS} random sequences`, async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    await fc.assert(
      fc.asyncProperty(
        prelude,
        fc.commands(commands, { maxCommands: 32, size: 'large' }),
        async (start, cmds) => {
          const w = new World(redis, t0);
          await w.setUp();
          await w.phase3Request();
          if (start !== 'pending') {
            await w.approve('U0DAVE');
            await w.approve('U0ERIN');
          }
          if (start === 'window started') await untilStart(w);
          try {
            await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
            await settle(w);
            await w.tally();
          } finally {
            await w.tearDown();
          }
        },
      ),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false },
    );
    console.log(
      `model: ${reached.sequences} sequences, ${reached.changes} changes reached AWS; seen: ${JSON.stringify(Object.fromEntries(reached.states))}`,
    );
    expect(reached.changes).toBeGreaterThan(0);
  }, 600_000);
});
