// What the bench prepares before any part runs: the built bot (rebuilt when stale, then copied so
// other people's rebuilds cannot pull it away mid-run), the node flags `npm start` runs it with, the
// Redis the run uses, and the environment every child starts from.
import { spawnSync } from 'node:child_process';
import { cpSync, type Dirent, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type EnsuredRedis, ensureRedis } from '../devkit/redis-server.js';

/**
 * The node flags `npm start` gives the bot (package.json scripts.start: `node <flags> dist/bot/main.js`),
 * so the bench runs the bot the way it is deployed. The bare Bolt baseline runs with node's defaults.
 */
export function startScriptNodeArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const words = (pkg.scripts?.start ?? '').split(/\s+/).filter(Boolean);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/bot/main.js') {
    throw new Error(
      `package.json scripts.start is not "node [flags] dist/bot/main.js": ${pkg.scripts?.start}`,
    );
  }
  return words.slice(1, -1);
}

/** Newest mtime of what `npm run build` reads: tsconfig.build.json's `include` and both tsconfigs. */
function newestSourceMtime(root: string): number {
  let newest = 0;
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include?: string[] };
  for (const d of build.include ?? []) walk(join(root, d));
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) {
    newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  }
  return newest;
}

export interface BuildOptions {
  root: string;
  /** The built bot the bench runs (`<root>/dist` unless --dist). */
  dist: string;
  /** --no-build, or a --dist elsewhere: use what is there. */
  noBuild: boolean;
  log(line: string): void;
}

/** Runs `npm run build` when dist/bot/main.js is missing or older than any source. */
export function buildIfStale(o: BuildOptions): void {
  let built = 0;
  try {
    built = statSync(join(o.dist, 'bot/main.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (o.noBuild || o.dist !== join(o.root, 'dist')) {
    if (!built) throw new Error(`${join(o.dist, 'bot/main.js')} does not exist`);
    return;
  }
  if (built && built >= newestSourceMtime(o.root)) return;
  o.log('dist/ is stale: npm run build');
  const res = spawnSync('npm', ['run', 'build'], { cwd: o.root, encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`npm run build failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  }
}

/**
 * Copies dist/ to a private directory inside the repo (so node_modules still resolves), because
 * other people rebuild or delete dist/ while a bench runs. Returns the copy.
 */
export function snapshotDist(o: BuildOptions): string {
  const artifacts = join(o.root, '.artifacts');
  // Snapshots of benches that were killed outright (SIGKILL) and so could not clean up.
  for (const name of readdirSync(artifacts, { withFileTypes: true })) {
    const pid = Number(/^bench-dist-(\d+)$/.exec(name.name)?.[1]);
    if (pid && pid !== process.pid && !existsSync(`/proc/${pid}`)) {
      rmSync(join(artifacts, name.name), { recursive: true, force: true });
    }
  }
  const snap = join(artifacts, `bench-dist-${process.pid}`);
  for (let attempt = 1; ; attempt++) {
    rmSync(snap, { recursive: true, force: true });
    try {
      cpSync(o.dist, snap, { recursive: true });
      if (existsSync(join(snap, 'bot/main.js'))) return snap;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
    if (attempt >= 5) throw new Error('dist/bot/main.js vanished while copying dist/');
    buildIfStale(o);
  }
}

/**
 * The run's Redis: a private redis-server by default, so other people's traffic on a shared one
 * cannot skew the bot; `shared` is REDIS_URL (default redis://127.0.0.1:6379); a URL is that
 * server, never a stand-in.
 */
export async function pickRedis(choice: string, log: (line: string) => void): Promise<EnsuredRedis> {
  if (choice !== 'private') {
    const url = choice === 'shared' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : choice;
    const r = await ensureRedis(url);
    if (r.started) {
      await r.close();
      throw new Error(`--redis ${choice}: nothing answered PING at ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
    }
    return r;
  }
  try {
    // Nothing answers on port 1, so ensureRedis starts a private redis-server on a free port.
    return await ensureRedis('redis://127.0.0.1:1');
  } catch (err) {
    log(`no private redis-server (${err instanceof Error ? err.message : String(err)}); using REDIS_URL`);
    return ensureRedis();
  }
}

/** Environment for a child: only what it needs, so the caller's shell cannot change the result. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}
