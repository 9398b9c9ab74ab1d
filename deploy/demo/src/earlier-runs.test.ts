import { describe, expect, it } from 'vitest';
import { describeEarlierRecords } from './earlier-runs.js';

describe('what the demo says it found from earlier runs', () => {
  it('says the topics are empty on a fresh broker', () => {
    expect(describeEarlierRecords({ frames: 0, verdicts: 0, alerts: 0, openAlerts: 0 })).toBe('earlier runs: nothing on frames.v1, verdicts.v1 or alerts.v1');
  });

  it('counts what earlier runs left, says what this run leaves out and how to start empty', () => {
    const line = describeEarlierRecords({ frames: 104, verdicts: 104, alerts: 3, openAlerts: 1 });
    expect(line).toMatch(/^earlier runs left 104 frames on frames\.v1, 104 verdicts on verdicts\.v1 and 3 alerts on alerts\.v1, 1 still open\. /);
    expect(line).toContain('counts only its own frames');
    expect(line).toContain('alerting may resolve the open ones');
    expect(line).toContain('`bash deploy/local/infra.sh reset`');
    expect(describeEarlierRecords({ frames: 1, verdicts: 1, alerts: 1, openAlerts: 0 })).toMatch(/^earlier runs left 1 frame on frames\.v1, 1 verdict on verdicts\.v1 and 1 alert on alerts\.v1\. This run/);
  });
});
