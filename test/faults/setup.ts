import { mkdirSync, rmSync } from 'node:fs';

/** Where each scenario appends its line (harness.ts faultLine) for .ci/run. */
export const SUMMARY_FILE = '.artifacts/faults-summary.txt';

/** Starts the run's fault summary afresh (each scenario appends its line). */
export default function setup() {
  mkdirSync('.artifacts', { recursive: true });
  rmSync(SUMMARY_FILE, { force: true });
}
