import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort } from './free-port.js';
import { startManagedProcess } from './managed-process.js';

const READY_TIMEOUT_MS = 30_000;

/** One scrape job: its name (the `job` label) and `host:port` targets. */
export interface ScrapeJob {
  job: string;
  targets: string[];
  /** Default `/metrics`. */
  metricsPath?: string;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Scrape and rule evaluation interval in seconds (default 1). */
  intervalSeconds?: number;
  /** Rule files to load (e.g. infra/prometheus/alerts.yml); paths relative to the cwd. */
  ruleFiles?: string[];
  /** Port to bind; a free loopback port when omitted. */
  port?: number;
  /** prometheus executable. */
  bin?: string;
}

/** One sample of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  /** Base URL, e.g. `http://127.0.0.1:9123` (no trailing slash). */
  readonly url: string;
  /** The config file written for this run (for diagnostics). */
  readonly configFile: string;
  /** Evaluates `promql` now (GET /api/v1/query); a scalar comes back as one sample with no labels. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `query(promql)` until `predicate` accepts the result; returns that result. */
  waitFor(
    promql: string,
    predicate: (samples: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** The scrape targets and their health (GET /api/v1/targets). */
  targets(): Promise<{ job: string; instance: string; health: string; lastError: string }[]>;
  /** Alerts currently pending or firing (GET /api/v1/alerts). */
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
  /** Stops Prometheus and removes its config and data directory. Idempotent. */
  close(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  error?: string;
  errorType?: string;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json().catch(() => undefined)) as ApiAnswer<T> | undefined;
  if (!res.ok || body?.status !== 'success' || body.data === undefined) {
    throw new Error(
      `prometheus ${url}: HTTP ${res.status} ${body?.errorType ?? ''} ${body?.error ?? ''}`.trim(),
    );
  }
  return body.data;
}

async function answersReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts a private Prometheus on 127.0.0.1 scraping `jobs` every `intervalSeconds`, with its config
 * and TSDB in a temporary directory, and resolves once it is ready. Throws an install hint when the
 * binary is not on PATH (Debian: `apt-get install prometheus`).
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const bin = opts.bin ?? 'prometheus';
  const interval = `${opts.intervalSeconds ?? 1}s`;
  const dir = await mkdtemp(join(tmpdir(), 'chatops-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    ...(opts.ruleFiles?.length ? { rule_files: opts.ruleFiles.map((f) => resolve(f)) } : {}),
    scrape_configs: opts.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      static_configs: [{ targets: j.targets }],
    })),
  };
  await writeFile(configFile, stringify(config));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let proc: Awaited<ReturnType<typeof startManagedProcess>>;
  try {
    proc = await startManagedProcess({
      name: bin,
      bin,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      missingMessage: `${bin} not found: install it with apt-get install prometheus`,
      ready: () => answersReady(url),
      timeoutMs: READY_TIMEOUT_MS,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const query = async (promql: string): Promise<PromSample[]> => {
    const data = await api<{ resultType: string; result: unknown }>(
      `${url}/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    if (data.resultType === 'scalar') {
      const [, v] = data.result as [number, string];
      return [{ metric: {}, value: Number(v) }];
    }
    if (data.resultType !== 'vector')
      throw new Error(`query "${promql}" returned a ${data.resultType}, not a vector`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
      metric: s.metric,
      value: Number(s.value[1]),
    }));
  };

  let closing: Promise<void> | undefined;
  return {
    url,
    configFile,
    query,
    async waitFor(promql, predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: PromSample[] | string = 'no answer yet';
      for (;;) {
        try {
          const samples = await query(promql);
          if (predicate(samples)) return samples;
          last = samples;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${promql}; last answer: ${JSON.stringify(last)}`);
        }
        await sleep(200);
      }
    },
    async targets() {
      const data = await api<{
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      }>(`${url}/api/v1/targets?state=active`);
      return data.activeTargets.map((t) => ({
        job: t.labels.job ?? '',
        instance: t.labels.instance ?? '',
        health: t.health,
        lastError: t.lastError,
      }));
    },
    async alerts() {
      const data = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        `${url}/api/v1/alerts`,
      );
      return data.alerts.map((a) => ({ labels: a.labels, state: a.state }));
    },
    close() {
      closing ??= (async () => {
        await proc.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
