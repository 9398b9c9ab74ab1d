import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import type { Decider } from '@loomwatch/inference';
import { ModelCache } from './models.js';

/** A decider that only records its life; the cache never asks it to decide here. */
function fakeDecider(ref: string, closed: string[]): Decider {
  return {
    model: { name: ref, version: '1', sha256: '0'.repeat(64) },
    usable: true,
    decide: () => Promise.reject(new Error('not used')),
    close: () => {
      closed.push(ref);
      return Promise.resolve();
    },
  };
}

function cache(maxLoaded: number, canonical?: (ref: string) => Promise<string>) {
  const loads: string[] = [];
  const closed: string[] = [];
  const models = new ModelCache(
    (ref) => {
      loads.push(ref);
      return Promise.resolve(fakeDecider(ref, closed));
    },
    maxLoaded,
    canonical,
  );
  return { models, loads, closed };
}

const noop = (): Promise<void> => Promise.resolve();

describe('ModelCache', () => {
  it('loads a version once and reuses it', async () => {
    const { models, loads } = cache(2);
    await models.use('a@1', noop);
    await models.use('a@1', noop);
    expect(loads).toEqual(['a@1']);
  });

  it('closes the least recently used version past maxLoaded', async () => {
    const { models, loads, closed } = cache(2);
    await models.use('a@1', noop);
    await models.use('b@1', noop);
    await models.use('a@1', noop);
    await models.use('c@1', noop);
    expect(closed).toEqual(['b@1']);
    expect(models.size).toBe(2);
    await models.use('b@1', noop);
    expect(loads).toEqual(['a@1', 'b@1', 'c@1', 'b@1']);
  });

  it('closes an evicted version only when the request using it is done', async () => {
    const { models, closed } = cache(1);
    let finish!: () => void;
    const running = models.use('a@1', () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    await models.use('b@1', noop);
    expect(closed).toEqual([]);
    finish();
    await running;
    expect(closed).toEqual(['a@1']);
  });

  it('refuses an unknown reference before it can push a loaded version out', async () => {
    const { models, loads, closed } = cache(1, (ref) =>
      ref.startsWith('nope') ? Promise.reject(new LoomwatchError('MODEL_NOT_FOUND', `${ref} is not in the registry`)) : Promise.resolve(ref),
    );
    await models.use('a@1', noop);
    await expect(models.use('nope@1', noop)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(loads).toEqual(['a@1']);
    expect(closed).toEqual([]);
    expect(await models.ready('a@1')).toBe(true);
  });

  it('forgets a version whose load failed, so the next request loads it again', async () => {
    let attempts = 0;
    const models = new ModelCache(() => (++attempts === 1 ? Promise.reject(new LoomwatchError('MODEL_CHECKSUM_MISMATCH', 'bad')) : Promise.resolve(fakeDecider('a@1', []))), 2);
    await expect(models.use('a@1', noop)).rejects.toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
    expect(await models.ready('a@1')).toBe(false);
    await models.use('a@1', noop);
    expect(attempts).toBe(2);
    expect(await models.ready('a@1')).toBe(true);
  });
});
