/**
 * The feed on the real broker when a follow fails for good: the dashboard turns not-ready
 * (`/readyz` 503, naming the topic) and follows the topic again with backoff once it can.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DriftEvent, encodeMessage } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { DashboardConfig } from './config.js';
import { startDashboardService, type DashboardService } from './service.js';
import { driftFixture } from './testing.js';

const kafka = useTestKafka();
let service: DashboardService;
let drift: string;

const readiness = async (): Promise<{ status: number; checks: Record<string, boolean> }> => {
  const res = await fetch(`http://127.0.0.1:${service.opsPort}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, boolean> }).checks };
};

beforeAll(async () => {
  const [verdicts, alerts, deadLetters, control, frames, feedback] = await Promise.all(['verdicts', 'alerts', 'dlq', 'control', 'frames', 'feedback'].map((prefix) => kafka.topic({ prefix })));
  drift = await kafka.topic({ prefix: 'drift' });
  const config = DashboardConfig.parse({
    kafka: { brokers: kafka.infra.kafkaBrokers, clientId: 'dashboard-feed-test' },
    s3: kafka.infra.s3,
    dashboard: { port: 0 },
    auth: { mode: 'none' },
    topics: { verdicts, alerts, deadLetters, control, drift, frames, feedback },
    ops: { port: 0 },
  });
  service = await startDashboardService(config, createLogger({ service: 'dashboard-feed-test', level: 'error' }));
  await vi.waitFor(async () => expect((await readiness()).status).toBe(200), { timeout: 60_000, interval: 200 });
}, 90_000);

afterAll(async () => {
  await service?.stop();
});

describe('the feed when a follow fails', () => {
  it('makes the dashboard not ready, then follows the topic again once it is back', async () => {
    await kafka.client.topics.delete([drift]);
    await expect.poll(async () => (await readiness()).checks[drift], { timeout: 60_000, interval: 250 }).toBe(false);
    expect((await readiness()).status).toBe(503);

    await kafka.client.topics.ensure([{ topic: drift }]);
    await expect.poll(async () => (await readiness()).status, { timeout: 60_000, interval: 250 }).toBe(200);
    // Following again: a judgement published now reaches the view.
    await kafka.publish(drift, [{ key: 'line-1:cam-1', value: encodeMessage(DriftEvent, driftFixture(['score-psi'])) }]);
    await expect
      .poll(async () => Object.keys(((await (await fetch(`http://127.0.0.1:${service.port}/api/snapshot`)).json()) as { state: { drift: Record<string, unknown> } }).state.drift).length, { timeout: 10_000 })
      .toBe(1);
  }, 150_000);
});
