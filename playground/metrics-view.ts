// `/metrics` in the playground: the bot's GET /metrics (Prometheus text format) read back into the few
// figures a person looks at first. Pure: a test calls it with exposition text.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition text (comments skipped; label values unescaped enough for ours). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[k as string] = v as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (xs: Sample[]) => xs.reduce((a, s) => a + s.value, 0);

/** Sums `name`'s samples by one label, the non-zero ones as `key value` pairs, largest first. */
function byLabel(
  samples: Sample[],
  name: string,
  label: string,
  filter: Record<string, string> = {},
): string {
  const totals = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(filter).some(([k, v]) => s.labels[k] !== v)) continue;
    const key = s.labels[label] ?? '';
    totals.set(key, (totals.get(key) ?? 0) + s.value);
  }
  const shown = [...totals].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  return shown.length ? shown.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

/** The `q` quantile (0..1) of a histogram's buckets, in seconds, or undefined without observations. */
export function quantile(samples: Sample[], name: string, q: number, filter: Record<string, string> = {}) {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (Object.entries(filter).some(([k, v]) => s.labels[k] !== v)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (!total) return undefined;
  return sorted.find(([, count]) => count >= q * total)?.[0];
}

const secs = (s: number | undefined) =>
  s === undefined ? 'n/a' : s === Number.POSITIVE_INFINITY ? 'over the last bucket' : `≤ ${s} s`;

/** The key figures of one scrape, as lines for the terminal. `nowMs`: for the heartbeat's age. */
export function keyFigures(text: string, nowMs: number): string[] {
  const all = parseExposition(text);
  const named = (n: string) => all.filter((s) => s.name === n);
  const role = named('chatops_process_role').find((s) => s.value === 1)?.labels.role ?? '?';
  const beat = named('chatops_worker_heartbeat_timestamp_seconds')[0]?.value;
  const queues = new Map<string, Record<string, number>>();
  for (const s of named('chatops_queue_jobs')) {
    const q = s.labels.queue ?? '?';
    queues.set(q, { ...queues.get(q), [s.labels.state ?? '?']: s.value });
  }
  const queueLine = [...queues]
    .map(([q, c]) => `${q} ${c.waiting ?? 0}/${c.active ?? 0}/${c.delayed ?? 0}/${c.failed ?? 0}`)
    .join(', ');
  const down = named('chatops_scrape_source_up').filter((s) => s.value === 0);
  const dumpChecks = named('chatops_dump_last_check_timestamp_seconds').length;
  const dumpPasses = named('chatops_dump_last_pass_timestamp_seconds').length;
  return [
    `Metrics of the bot process (role ${role}), as Prometheus scrapes them from GET /metrics:`,
    `  commands      ${byLabel(all, 'chatops_commands_total', 'outcome')} (by command: ${byLabel(all, 'chatops_commands_total', 'command')})`,
    `  clicks        ${byLabel(all, 'chatops_clicks_total', 'outcome')}; modal submissions ${byLabel(all, 'chatops_submissions_total', 'outcome')}`,
    `  acks          p50 ${secs(quantile(all, 'chatops_ack_duration_seconds', 0.5))}, p99 ${secs(quantile(all, 'chatops_ack_duration_seconds', 0.99))} (${sum(named('chatops_ack_duration_seconds_count'))} timed)`,
    `  refused 401   ${byLabel(all, 'chatops_requests_refused_total', 'reason')}`,
    `  queues        waiting/active/delayed/failed: ${queueLine || 'none'}`,
    `  worker        last heartbeat ${beat === undefined ? 'never (no worker has run the heartbeat job)' : `${Math.max(0, Math.round(nowMs / 1000 - beat))} s ago`}`,
    `  dumps         ${dumpChecks} job(s) checked, ${dumpPasses} passed at least once; alerts ${byLabel(all, 'chatops_dump_alerts', 'state')}`,
    `  maintenance   windows ${byLabel(all, 'chatops_maintenance_windows', 'state')}; notices posted ${sum(named('chatops_notice_lag_seconds_count'))}, late ${sum(named('chatops_notices_late_total'))}, dropped ${sum(named('chatops_notices_failed_total'))}`,
    `  migration     requests ${byLabel(all, 'chatops_migration_requests', 'state')}; approvals missing ${sum(named('chatops_migration_pending_approvals'))}`,
    `  Slack API     ${byLabel(all, 'chatops_slack_api_calls_total', 'result')} (this process; the workers' calls are in their own scrape when split)`,
    `  AWS API       ${byLabel(all, 'chatops_aws_api_calls_total', 'result')} (by service: ${byLabel(all, 'chatops_aws_api_calls_total', 'service')})`,
    `  jobs          final failures ${byLabel(all, 'chatops_job_final_failures_total', 'queue')}`,
    ...(down.length ? [`  ⚠ Redis reads failing: ${down.map((s) => s.labels.source).join(', ')}`] : []),
  ];
}
