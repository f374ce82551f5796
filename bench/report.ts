// The numbers every bench reports and how it lays them out: nearest-rank percentiles, medians,
// fixed-digit figures and the rows of a plain-text table.

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** The values sorted ascending, for percentile(). */
export const sorted = (xs: ArrayLike<number>): Float64Array => Float64Array.from(xs).sort();

export function median(xs: number[]): number {
  const s = sorted(xs);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** `x` with `digits` decimals, or `n/a` when it is not a finite number. */
export const fmt = (x: number | undefined, digits = 1): string =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';

/** A `<n>x` ratio cell. */
export const ratio = (x: number, digits = 2): string => (Number.isFinite(x) ? `${fmt(x, digits)}x` : '-');

/**
 * A table row renderer: the label padded to `labelWidth`, each cell right-aligned to its column's
 * width (`widths` names each column's, or one width for all).
 */
export function tableRow(labelWidth: number, widths: number | number[]) {
  const width = (i: number) => (typeof widths === 'number' ? widths : (widths[i] ?? 0));
  return (label: string, ...cells: string[]): string =>
    `${label.padEnd(labelWidth)}${cells.map((c, i) => c.padStart(width(i))).join('')}`.trimEnd();
}

/** `a 1, b 2` from counts by name (`none` when empty). */
export const counts = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

/** Counts of `items` by `key`. */
export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}
