import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@loomwatch/config';
import { AlertingConfig } from './config.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'alerting-config-')), 'alerting.yaml');
  writeFileSync(file, text);
  return file;
}

describe('alerting config', () => {
  it('reads rules and webhooks from YAML with their defaults', () => {
    const config = loadConfig(AlertingConfig, {
      env: {},
      files: [
        yamlFile(`
rules:
  - { name: burst, kind: burst, defects: 3, frames: 5 }
  - { name: big, kind: level, minRegionArea: 20000 }
webhooks:
  - { name: mes, url: 'http://127.0.0.1:8080/hook', secrets: ['0123456789abcdef'] }
`),
      ],
    });
    expect(config.rules).toEqual([
      expect.objectContaining({ name: 'burst', severity: 'critical', stopLine: true, cooldownMs: 60_000, resolveAtOrBelow: 0 }),
      expect.objectContaining({ name: 'big', severity: 'warning', quietMs: 300_000, match: { lines: [], cameras: [] } }),
    ]);
    expect(config.webhooks[0]).toMatchObject({ maxAttempts: 6, minSeverity: 'info' });
    expect(config.alerting).toMatchObject({ groupId: 'loomwatch-alerting', verdictTopic: 'verdicts.v1', alertTopic: 'alerts.v1', fromBeginning: false });
  });

  it('rejects a burst rule asking for more defects than frames, naming the path', () => {
    const file = yamlFile('rules:\n  - { name: burst, kind: burst, defects: 6, frames: 5 }\n');
    expect(() => loadConfig(AlertingConfig, { env: {}, files: [file] })).toThrow(/rules\.0\.defects/);
  });

  it('rejects two rules with one name and a webhook secret too short to be one', () => {
    const twice = yamlFile('rules:\n  - { name: a, kind: stale-verdicts, afterMs: 1000 }\n  - { name: a, kind: stale-verdicts, afterMs: 2000 }\n');
    expect(() => loadConfig(AlertingConfig, { env: {}, files: [twice] })).toThrow(/unique/);
    const short = yamlFile("webhooks:\n  - { name: mes, url: 'http://127.0.0.1/x', secrets: [short] }\n");
    expect(() => loadConfig(AlertingConfig, { env: {}, files: [short] })).toThrow(/webhooks\.0\.secrets\.0/);
  });

  it('refuses a misspelt key at any level, naming its path', () => {
    expect(() => loadConfig(AlertingConfig, { env: {}, files: [yamlFile('rulez: []\n')] })).toThrow(/rulez: unknown setting/);
    expect(() => loadConfig(AlertingConfig, { env: {}, overrides: ['alerting.tickMS=100'] })).toThrow(/alerting\.tickMS: unknown setting \(from --set alerting\.tickMS\)/);
    const rule = yamlFile('rules:\n  - { name: burst, kind: burst, defects: 3, frames: 5, cooldown: 10 }\n');
    expect(() => loadConfig(AlertingConfig, { env: {}, files: [rule] })).toThrow(/rules\.0\.cooldown: unknown setting/);
  });
});
