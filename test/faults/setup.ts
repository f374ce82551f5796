import { mkdirSync, rmSync } from 'node:fs';
import { SUMMARY_FILE } from './harness.js';

/** Starts the run's fault summary afresh (each scenario appends its line). */
export default function setup() {
  mkdirSync('.artifacts', { recursive: true });
  rmSync(SUMMARY_FILE, { force: true });
}
