import { describe, expect, it } from 'vitest';
import { LoomwatchError, type Deployment, type FrameEvent } from '@loomwatch/contracts';
import type { Decider, Decision } from '@loomwatch/inference';
import { ModelPool, fixedDeployment, servedFor } from './model-pool.js';

class StubDecider implements Decider {
  readonly model;
  closed = false;
  usable = true;
  constructor(version: string) {
    this.model = { name: 'm', version, sha256: 'a'.repeat(64) };
  }
  decide(): Promise<Decision> {
    return Promise.reject(new Error('not used'));
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const frame = { frameId: 'f1', lineId: 'line-1', cameraId: 'cam-1' } as FrameEvent;
const deployment = (revision: number, production: string, extra: Partial<Deployment> = {}): Deployment => ({
  ...fixedDeployment('m', production),
  revision,
  ...extra,
});

function loader(fail: Set<string> = new Set()) {
  const made = new Map<string, StubDecider>();
  const load = (version: string): Promise<Decider> => {
    if (fail.has(version)) return Promise.reject(new LoomwatchError('MODEL_NOT_FOUND', `no ${version}`));
    const decider = new StubDecider(version);
    made.set(version, decider);
    return Promise.resolve(decider);
  };
  return { load, made };
}

describe('ModelPool', () => {
  it('switches new frames to the new version while a frame in flight keeps the old one until it releases it', async () => {
    const { load, made } = loader();
    const pool = await ModelPool.start(load, deployment(0, '1.0.0'));
    const inFlight = pool.acquire(frame);
    expect(await pool.apply(deployment(1, '2.0.0'))).toBe(true);
    expect(pool.acquire(frame).primary.model.version).toBe('2.0.0');
    expect(inFlight.primary.model.version).toBe('1.0.0');
    expect(made.get('1.0.0')?.closed).toBe(false);
    inFlight.release();
    await Promise.resolve();
    expect(made.get('1.0.0')?.closed).toBe(true);
    expect(pool.versions).toEqual(['2.0.0']);
  });

  it('ignores a revision that is not newer and another model’s deployment', async () => {
    const pool = await ModelPool.start(loader().load, deployment(5, '1.0.0'));
    expect(await pool.apply(deployment(5, '2.0.0'))).toBe(false);
    expect(await pool.apply(deployment(4, '2.0.0'))).toBe(false);
    expect(await pool.apply({ ...deployment(9, '2.0.0'), model: 'other' })).toBe(false);
    expect(pool.deployment.production).toBe('1.0.0');
  });

  it('keeps the deployment in force when a version of the new one fails to load', async () => {
    const { load, made } = loader(new Set(['3.0.0']));
    const pool = await ModelPool.start(load, deployment(1, '1.0.0'));
    await expect(pool.apply(deployment(2, '2.0.0', { shadow: { version: '3.0.0', sample: 0.5 } }))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(pool.deployment.revision).toBe(1);
    expect(pool.acquire(frame).primary.model.version).toBe('1.0.0');
    expect(made.get('2.0.0')?.closed).toBe(true);
  });

  it('reloads a version whose runtime died: the frame in hand is retried, the next one gets the fresh decider', async () => {
    const { load, made } = loader();
    const pool = await ModelPool.start(load, deployment(0, '1.0.0'));
    const dead = made.get('1.0.0');
    if (dead === undefined) throw new Error('not loaded');
    dead.usable = false;
    expect(pool.healthy).toBe(false);
    expect(() => pool.acquire(frame)).toThrow(expect.objectContaining({ code: 'MODEL_RUN_FAILED', retryable: true }) as Error);
    await new Promise((resolve) => setImmediate(resolve));
    const lease = pool.acquire(frame);
    expect(lease.primary).not.toBe(dead);
    expect(lease.primary.usable).toBe(true);
    expect(dead.closed).toBe(true);
    expect(pool.healthy).toBe(true);
  });

  it('applies deployments in the order they arrive, loading each version once', async () => {
    let loads = 0;
    const pool = await ModelPool.start((v) => {
      loads += 1;
      return Promise.resolve(new StubDecider(v));
    }, deployment(0, '1.0.0'));
    await Promise.all([pool.apply(deployment(1, '2.0.0')), pool.apply(deployment(2, '2.0.0', { canary: { version: '1.0.0', lines: ['line-1'], cameras: [] } }))]);
    expect(pool.deployment.revision).toBe(2);
    expect(pool.acquire(frame).primary.model.version).toBe('1.0.0');
    expect(loads).toBe(3); // 1.0.0, 2.0.0, then 1.0.0 again after it was retired
  });

  it('loads every version again at the precision a deployment pins, and closes the old ones', async () => {
    const asked: string[] = [];
    const made: StubDecider[] = [];
    const pool = await ModelPool.start((version, precision) => {
      asked.push(`${version} ${precision ?? 'default'}`);
      const decider = new StubDecider(version);
      made.push(decider);
      return Promise.resolve(decider);
    }, deployment(0, '1.0.0', { shadow: { version: '2.0.0', sample: 1 } }));
    expect(await pool.apply(deployment(1, '1.0.0', { shadow: { version: '2.0.0', sample: 1 }, precision: 'fp32' }))).toBe(true);
    expect(asked).toEqual(['1.0.0 default', '2.0.0 default', '1.0.0 fp32', '2.0.0 fp32']);
    const lease = pool.acquire(frame);
    expect([lease.primary, lease.shadow]).toEqual([made[2], made[3]]);
    expect(pool.decider('1.0.0')).toBe(made[2]);
    expect(made.map((d) => d.closed)).toEqual([true, true, false, false]);
    expect(await pool.apply(deployment(2, '1.0.0', { shadow: { version: '2.0.0', sample: 1 }, precision: 'fp32' }))).toBe(true);
    expect(asked).toHaveLength(4); // the same precision again loads nothing
  });
});

describe('servedFor', () => {
  it('names the version asked for on a decider that runs another, and leaves one that runs it alone', async () => {
    const variant = new StubDecider('1.0.0-int8');
    const served = servedFor(variant, '1.0.0');
    expect(served.model).toEqual({ ...variant.model, requested: '1.0.0' });
    variant.usable = false;
    expect(served.usable).toBe(false);
    await served.close();
    expect(variant.closed).toBe(true);
    const same = new StubDecider('1.0.0');
    expect(servedFor(same, '1.0.0')).toBe(same);
  });
});
