// The container's runtime, proven without Docker: no Docker engine runs on this machine (nor in CI),
// so this test builds by hand exactly what the Dockerfile's runtime stage holds (package.json, the
// production node_modules after `npm prune --omit=dev`, dist/ from `npm run build`), makes it
// read-only, starts the image's CMD there as an unprivileged user with the image's ENV plus what a
// deployment adds (Redis, the config file, the Slack secrets), runs the image's own HEALTHCHECK
// command against it, and stops it with the image's STOPSIGNAL. Everything is read from the
// Dockerfile's text, so a change there (a new COPY, another health check) is a change here.
// Stand-ins: the image's user `node` is nobody:nogroup here (uid 65534, checked in /proc); its Node is
// the one running the tests (the image's Node 24 under .ci/run); its /app is a temp dir. Bounded
// under 120 s: measured 26 s to 67 s of test time (load 7 to 10 on 2 cores), most of it tsc.
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FakeSlack, freePort, startFakeSlack } from '../../devkit/index.js';
import { createRedis } from '../../infra/redis.js';
import { motoUrl } from '../helpers/moto-url.js';
import { deleteKeys, SIGNING_SECRET } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PREFIX = `container-runtime-${process.pid}`;

/** What the runtime stage of the Dockerfile says (the last FROM to the end). */
interface RuntimeStage {
  env: Record<string, string>;
  workdir: string;
  user: string;
  /** Each COPY: the stage it copies from, the source path there, and where it lands (absolute). */
  copies: { from: string | undefined; source: string; target: string }[];
  /** The health check as Docker runs it: a shell-form command goes through /bin/sh -c. */
  healthcheck: { argv: string[]; timeoutMs: number };
  cmd: string[];
  stopSignal: NodeJS.Signals;
}

function durationMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`not a Dockerfile duration: ${s}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** Exec form (a JSON array) as is; shell form through /bin/sh -c, as Docker does. */
function commandOf(text: string): string[] {
  return text.startsWith('[') ? (JSON.parse(text) as string[]) : ['/bin/sh', '-c', text];
}

function parseRuntimeStage(dockerfile: string): RuntimeStage {
  const lines = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  expect(lastFrom, 'a FROM line').toBeGreaterThanOrEqual(0);
  const stage: Partial<RuntimeStage> & { env: Record<string, string>; copies: RuntimeStage['copies'] } = {
    env: {},
    copies: [],
    workdir: '/',
    user: 'root',
    stopSignal: 'SIGTERM',
  };
  for (const line of lines.slice(lastFrom + 1)) {
    const [, word = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const args = rest.trim();
    switch (word.toUpperCase()) {
      case 'ENV':
        if (args.includes('=')) {
          for (const [, k = '', v = ''] of args.matchAll(/([\w.-]+)=("[^"]*"|\S*)/g))
            stage.env[k] = v.replace(/^"(.*)"$/, '$1');
        } else {
          const [k = '', ...v] = args.split(/\s+/);
          stage.env[k] = v.join(' ');
        }
        break;
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir ?? '/', args);
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        const dest = paths.pop() ?? '';
        const destAbs = posix.resolve(stage.workdir ?? '/', dest);
        for (const source of paths) {
          const target = dest.endsWith('/') ? posix.join(destAbs, posix.basename(source)) : destAbs;
          stage.copies.push({ from, source, target });
        }
        break;
      }
      case 'HEALTHCHECK': {
        const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(.+)$/.exec(args);
        if (!m) throw new Error(`HEALTHCHECK without CMD: ${args}`);
        const timeout = /--timeout=(\S+)/.exec(m[1] ?? '')?.[1] ?? '30s';
        stage.healthcheck = { argv: commandOf(m[2] ?? ''), timeoutMs: durationMs(timeout) };
        break;
      }
      case 'CMD':
        stage.cmd = commandOf(args);
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = args as NodeJS.Signals;
        break;
    }
  }
  if (!stage.healthcheck) throw new Error('the runtime stage has no HEALTHCHECK');
  if (!stage.cmd) throw new Error('the runtime stage has no CMD');
  return stage as RuntimeStage;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const runtime = parseRuntimeStage(dockerfile);

/** Runs as nobody:nogroup, with no supplementary groups: setpriv execs in place (signals reach the
 * program itself); runuser where setpriv is missing. */
function asNobody(argv: string[]): [string, string[]] {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (existsSync(join(dir, 'setpriv')))
      return [join(dir, 'setpriv'), ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv]];
  }
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (existsSync(join(dir, 'runuser'))) return [join(dir, 'runuser'), ['-u', 'nobody', '--', ...argv]];
  }
  throw new Error('neither setpriv nor runuser is installed (util-linux)');
}

const run = promisify(execFile);

let tmp: string;
let app: string;
let bin: string;
let configPath: string;
let slack: FakeSlack;
const running = new Set<ChildProcess>();

/** What `COPY --from=build /app/<name>` brings, built the way the build stage builds it. */
async function layOut(name: string, target: string): Promise<void> {
  switch (name) {
    case 'package.json':
      copyFileSync(join(ROOT, 'package.json'), target);
      return;
    case 'node_modules': {
      // The build stage's `npm ci` tree (CI runs `npm ci` before the tests), then its own prune.
      const build = join(tmp, 'build');
      mkdirSync(build);
      copyFileSync(join(ROOT, 'package.json'), join(build, 'package.json'));
      copyFileSync(join(ROOT, 'package-lock.json'), join(build, 'package-lock.json'));
      // cp -a: several times faster than fs.cpSync on 300 MB of small files.
      await run('cp', ['-a', join(ROOT, 'node_modules'), join(build, 'node_modules')]);
      const prune = /npm prune [^&\n]*/.exec(dockerfile)?.[0];
      if (!prune)
        throw new Error('the build stage no longer runs npm prune: lay out node_modules as it does');
      await run('npm', [...prune.trim().split(/\s+/).slice(1), '--offline'], { cwd: build });
      renameSync(join(build, 'node_modules'), target);
      return;
    }
    case 'dist':
      // `npm run build` (tsc -p tsconfig.build.json) into the app dir instead of the shared ./dist.
      await run('npm', ['run', 'build', '--', '--outDir', target], { cwd: ROOT });
      return;
    default:
      throw new Error(`the runtime stage copies ${name}: teach container-runtime.test.ts to lay it out`);
  }
}

/** The node that runs the tests (the image's version in CI), where nobody may run it. */
function nodeForNobody(): void {
  mkdirSync(bin);
  const probe = spawnSync(...asNobody([process.execPath, '-e', '']), { stdio: 'ignore' });
  if (probe.status === 0) symlinkSync(process.execPath, join(bin, 'node'));
  else {
    // e.g. the Node 24 of .ci/run, under root's npx cache
    copyFileSync(process.execPath, join(bin, 'node'));
    chmodSync(join(bin, 'node'), 0o755);
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'chatops-runtime-'));
  chmodSync(tmp, 0o755);
  app = join(tmp, 'app');
  bin = join(tmp, 'bin');
  mkdirSync(app);
  // Side by side, as the two take most of the time (tsc alone 8 s to 40 s, by the machine's load).
  await Promise.all(
    runtime.copies.map((c) => {
      expect(c.target.startsWith(`${runtime.workdir}/`), `${c.target} is inside WORKDIR`).toBe(true);
      return layOut(basename(c.source), join(app, c.target.slice(runtime.workdir.length + 1)));
    }),
  );
  // The app as the image has it: owned by root, and nothing in it writable.
  execFileSync('chmod', ['-R', 'a-w', app]);
  nodeForNobody();
  const etc = join(tmp, 'etc');
  mkdirSync(etc);
  configPath = join(etc, basename(runtime.env.CHATOPS_CONFIG ?? 'chatops.yaml'));
  writeFileSync(configPath, 'accounts: { osio: { id: "386414299200", region: us-east-1 } }\n');
  slack = await startFakeSlack();
}, 100_000);

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await slack?.close();
  const redis = createRedis(inject('redisUrl'));
  await deleteKeys(redis, PREFIX);
  await redis.quit();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the container runtime (the Dockerfile, without Docker)', () => {
  it('holds exactly package.json, the production node_modules and dist/, read-only', () => {
    expect(
      runtime.copies.every((c) => c.from !== undefined),
      'every COPY from the build stage',
    ).toBe(true);
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    const main = posix.resolve(runtime.workdir, runtime.cmd.at(-1) ?? '');
    expect(existsSync(join(app, posix.relative(runtime.workdir, main))), `CMD's ${main}`).toBe(true);
    // No dev dependency left (the lockfile marks them), every production one there.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const dev = Object.entries(lock.packages)
      .filter(([p, e]) => p.startsWith('node_modules/') && e.dev)
      .map(([p]) => p);
    expect(dev.length).toBeGreaterThan(0);
    expect(dev.filter((p) => existsSync(join(app, p)))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true);
    // The user the app runs as cannot write anywhere in it.
    for (const dir of [app, join(app, 'dist'), join(app, 'node_modules')]) {
      const touch = spawnSync(...asNobody(['/bin/sh', '-c', `touch "${dir}/probe"`]), { stdio: 'pipe' });
      expect(touch.status, dir).not.toBe(0);
    }
  });

  it('runs its CMD as an unprivileged user in production mode; its HEALTHCHECK passes; its STOPSIGNAL stops it cleanly', async () => {
    expect(runtime.user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.env.NODE_ENV).toBe('production');
    const port = await freePort();
    // The image's ENV, then what a deployment sets (the task definition or the Helm values).
    const env: Record<string, string> = {
      PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
      ...runtime.env,
      PORT: String(port),
      CHATOPS_CONFIG: configPath,
      REDIS_URL: inject('redisUrl'),
      CHATOPS_REDIS_PREFIX: PREFIX,
      SLACK_BOT_TOKEN: 'xoxb-container-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      // Never the real AWS: the worker's moto, with fake credentials.
      AWS_ENDPOINT_URL: motoUrl(),
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const healthcheck = (portOverride?: number) =>
      spawnSync(...asNobody(runtime.healthcheck.argv), {
        cwd: app,
        env: portOverride === undefined ? env : { ...env, PORT: String(portOverride) },
        timeout: runtime.healthcheck.timeoutMs,
        encoding: 'utf8',
      });
    // The check can fail: nothing listens yet.
    expect(healthcheck().status).not.toBe(0);

    const child = spawn(...asNobody(runtime.cmd), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      child.once('exit', (code, signal) => r([code, signal])),
    );
    await until(
      'GET /readyz to answer 200 (Redis and config loaded)',
      async () => {
        if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${out}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return res?.status === 200;
      },
      30_000,
    );
    // It really is the unprivileged user (setpriv execs in place: the child is the app itself).
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    expect(uid).toBe('65534');

    const check = healthcheck();
    expect(check.status, `${check.stdout}${check.stderr}\n${out}`).toBe(0);

    child.kill(runtime.stopSignal);
    const [code, signal] = await exited;
    running.delete(child);
    expect({ code, signal }, out).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/"msg":"stopped"/);
    expect(out).not.toContain('xoxb-container-test');
    expect(out).not.toContain(SIGNING_SECRET);
    // And the check notices it is gone.
    expect(healthcheck().status).not.toBe(0);
  });
});
