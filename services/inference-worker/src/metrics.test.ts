import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@loomwatch/observability';
import { WorkerMetrics } from './metrics.js';

const deployment = {
  kind: 'deployment' as const,
  model: 'draem-aitex',
  revision: 3,
  production: '1.1.0',
  shadow: { version: '1.2.0', sample: 0.1 },
  fabrics: {},
  updatedAt: '2026-11-24T00:00:00.000Z',
};

describe('WorkerMetrics.recordDeployment', () => {
  it('reports the deployed version, the INT8 variant running for it, its precision and the CPU flags seen', async () => {
    const registry = createMetricsRegistry();
    const metrics = new WorkerMetrics(registry, ['avx2', 'avx512f', 'avx512_vnni']);
    metrics.recordDeployment(deployment, [
      { deployedVersion: '1.1.0', model: { name: 'draem-aitex', version: '1.1.0-int8.2', sha256: 'a'.repeat(64) }, precision: 'int8' },
      { deployedVersion: '1.2.0', model: { name: 'draem-aitex', version: '1.2.0', sha256: 'b'.repeat(64) }, precision: 'fp32' },
    ]);
    const text = await registry.metrics();
    const info = text.split('\n').filter((line) => line.startsWith('loomwatch_model_info{'));
    expect(info).toHaveLength(2);
    const production = info.find((line) => line.includes('deployed_version="1.1.0"'));
    expect(production).toContain('version="1.1.0-int8.2"');
    expect(production).toContain('role="production"');
    expect(production).toContain('precision="int8"');
    expect(production).toContain('cpu_flags="avx2 avx512f avx512_vnni"');
    const shadow = info.find((line) => line.includes('deployed_version="1.2.0"'));
    expect(shadow).toContain('role="shadow"');
    expect(shadow).toContain('precision="fp32"');
  });
});
