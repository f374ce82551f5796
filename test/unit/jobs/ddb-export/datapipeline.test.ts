import { describe, expect, it } from 'vitest';
import { classifyPipelineRun } from '../../../../jobs/ddb-export/datapipeline.js';

describe('Data Pipeline engine', () => {
  it('reads a Data Pipeline run from its instances: finished, failed (root cause), running', () => {
    const act = (status: string, error?: string) => ({
      id: 'a',
      component: 'TableBackupActivity',
      status,
      error,
    });
    const emr = (status: string) => ({ id: 'e', component: 'EmrClusterForBackup', status });
    expect(classifyPipelineRun('SCHEDULED', [act('FINISHED'), emr('SHUTTING_DOWN')]).outcome).toBe(
      'finished',
    );
    expect(classifyPipelineRun('SCHEDULED', [act('RUNNING'), emr('RUNNING')])).toEqual({
      outcome: 'running',
      detail: 'EmrClusterForBackup RUNNING, TableBackupActivity RUNNING',
    });
    expect(classifyPipelineRun('SCHEDULED', [])).toMatchObject({ outcome: 'running' });
    expect(
      classifyPipelineRun('SCHEDULED', [act('CASCADE_FAILED'), { ...emr('FAILED'), error: 'no capacity' }]),
    ).toEqual({ outcome: 'failed', detail: 'the run failed: EmrClusterForBackup FAILED: no capacity' });
    expect(classifyPipelineRun('SCHEDULED', [act('TIMEDOUT')]).outcome).toBe('failed');
    expect(classifyPipelineRun('PAUSED', [act('WAITING_FOR_RUNNER')]).outcome).toBe('failed');
    // A FINISHED pipeline state alone may be the previous run's: not proof of this one.
    expect(classifyPipelineRun('FINISHED', []).outcome).toBe('running');
  });
});
