import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Three files at a time (vitest's default on a 2-core machine is one): most unit files wait
          // on Redis, moto or a real BullMQ worker rather than the CPU.
          maxWorkers: Number(process.env.CHATOPS_UNIT_WORKERS ?? 3),
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          // Files run in parallel, each worker with its own moto_server (test/helpers/moto-url.ts) and
          // every file with its own Redis key prefix. Most of a file's time is real-time waiting.
          maxWorkers: Number(process.env.CHATOPS_TEST_WORKERS ?? 4),
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { test: { name: 'policy', include: ['test/policy/**/*.test.ts'] } },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts', 'test/faults/setup.ts'],
          // Real processes killed and services stopped: two files at a time, each worker with its own
          // moto_server (the AOF Redis test starts its own Redis).
          maxWorkers: Number(process.env.CHATOPS_FAULT_WORKERS ?? 2),
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
