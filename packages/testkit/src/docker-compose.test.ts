import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from './infra.js';

// docker-compose.yml cannot run here (no Docker engine), so its shape is checked by reading.
const Service = z
  .object({
    image: z.string().regex(/^[\w./-]+:[\w.-]+$/, 'an image pinned to a tag').optional(),
    build: z.union([z.string(), z.object({ context: z.string(), dockerfile: z.string().optional() })]).optional(),
    ports: z.array(z.string().regex(/^\d+:\d+$/)).optional(),
    depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    healthcheck: z.object({ test: z.array(z.string()).min(2) }).optional(),
  })
  .refine((service) => service.image !== undefined || service.build !== undefined, 'needs an image or a build');

const Compose = z.object({
  name: z.string(),
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown().nullable()).optional(),
});

describe('docker-compose.yml', () => {
  const compose = Compose.parse(parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')));

  it('runs Kafka in KRaft mode with one-node replication settings', () => {
    const env = compose.services['kafka']?.environment ?? {};
    expect(env['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(env['KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']).toBe(1);
    expect(env['KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS']).toBe(0);
  });

  it('only depends on services it defines, and publishes each host port once', () => {
    const names = new Set(Object.keys(compose.services));
    const hostPorts: string[] = [];
    for (const service of Object.values(compose.services)) {
      const deps = service.depends_on === undefined ? [] : Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on);
      for (const dep of deps) expect(names).toContain(dep);
      hostPorts.push(...(service.ports ?? []).map((port) => port.split(':')[0] ?? ''));
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });
});
