import { describe, expect, it } from 'vitest';
import { loadConfig, redactSecrets } from '@loomwatch/config';
import { DashboardConfig } from './config.js';

describe('the dashboard config', () => {
  it('defaults to the Loomwatch topics, the workers\' group and the buckets the gateway and workers write', () => {
    const config = DashboardConfig.parse({});
    expect(config.dashboard.port).toBe(8095);
    expect(config.ops.port).toBe(9470);
    expect(config.topics).toEqual({ verdicts: 'verdicts.v1', alerts: 'alerts.v1', deadLetters: 'frames.dlq.v1', control: 'control.v1', drift: 'drift.v1', frames: 'frames.v1' });
    expect(config.lag.groupId).toBe('loomwatch-inference');
    expect(config.objects.allow).toEqual([
      { bucket: 'loomwatch-frames', prefixes: ['frames/'] },
      { bucket: 'loomwatch-results', prefixes: ['maps/', 'overlays/'] },
    ]);
  });

  it('refuses an unknown key and a prefix that could reach a whole bucket, naming the path', () => {
    expect(() => loadConfig(DashboardConfig, { overrides: ['dashboard.prot=1'], env: {} })).toThrow(/dashboard.*prot/);
    expect(() => loadConfig(DashboardConfig, { overrides: ['objects.allow=[{"bucket":"loomwatch-results","prefixes":["/"]}]'], env: {} })).toThrow(/objects\.allow\.0\.prefixes\.0/);
    expect(() => loadConfig(DashboardConfig, { overrides: ['objects.allow=[{"bucket":"loomwatch-results","prefixes":["maps"]}]'], env: {} })).toThrow(/ending in "\/"/);
  });

  it('takes the S3 credentials from the environment and redacts the secret when the config is logged', () => {
    const config = loadConfig(DashboardConfig, { envAliases: { S3_SECRET_ACCESS_KEY: 's3.secretAccessKey' }, env: { S3_SECRET_ACCESS_KEY: 'very-secret-key-123' } });
    expect(config.s3.secretAccessKey).toBe('very-secret-key-123');
    expect(JSON.stringify(redactSecrets(config))).not.toContain('very-secret-key-123');
  });
});
