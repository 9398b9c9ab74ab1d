import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { REAPER_IMAGE, infraChoice, probeImages, testInstanceSettings, type ImageSource } from './infra.js';

describe('the tests\' own local instance', () => {
  it('has a state dir and ports apart from the instance make demo uses, and keeps what the caller set', () => {
    const settings = testInstanceSettings({ LOOMWATCH_CACHE: '/c' });
    expect(settings).toEqual({ LOOMWATCH_STATE: '/c/test-state', KAFKA_PORT: '28092', KAFKA_CONTROLLER_PORT: '28093', KAFKA_SECURE_PORT: '28094', S3_PORT: '28000', OIDC_PORT: '28080' });
    const infraSh = readFileSync(new URL('../../../deploy/local/infra.sh', import.meta.url), 'utf8');
    for (const [name, port] of Object.entries(settings).filter(([name]) => name.endsWith('_PORT'))) {
      expect(infraSh, `${name} differs from infra.sh's default`).not.toContain(`${name}:-${port}}`);
      expect(infraSh, `infra.sh honours ${name}`).toMatch(new RegExp(`${name}="\\$\\{${name}:-\\d+\\}"`));
    }
    expect(infraSh).toContain('STATE="${LOOMWATCH_STATE:-$CACHE/state}"');
    expect(testInstanceSettings({ LOOMWATCH_STATE: '/ci-state', KAFKA_PORT: '29092' })).toMatchObject({ LOOMWATCH_STATE: '/ci-state', KAFKA_PORT: '29092', S3_PORT: '28000' });
  });
});

describe('the choice between containers and the local servers', () => {
  /** A runtime with `cached` on the machine and a registry that describes `published` (or never answers). */
  const runtime = (cached: string[], published: string[] | 'hangs'): ImageSource & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      has: (image) => Promise.resolve(cached.includes(image)),
      describe: (image) => {
        asked.push(image);
        if (published === 'hangs') return new Promise(() => undefined);
        return published.includes(image) ? Promise.resolve() : Promise.reject(new Error(`Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\nmore`));
      },
    };
  };

  it('uses containers when every image is cached or its registry answers, asking the registry only for the missing ones', async () => {
    const source = runtime(['kafka:1'], ['minio:1']);
    expect(await probeImages(source, ['kafka:1', 'minio:1'])).toEqual({ state: 'ready' });
    expect(source.asked).toEqual(['minio:1']);
    expect(infraChoice({ state: 'ready' })).toEqual({ use: 'containers' });
  });

  it('falls back to the local servers with one line naming the image and why, when the runtime cannot pull (an air-gapped machine)', async () => {
    const probe = await probeImages(runtime(['kafka:1'], []), ['kafka:1', 'minio:1']);
    expect(probe).toEqual({ state: 'cannot-pull', image: 'minio:1', reason: 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host' });
    const choice = infraChoice(probe);
    expect(choice.use).toBe('local');
    expect(choice.note).toMatch(/^testkit: a container runtime answers but cannot pull minio:1 \(Get .*no such host\): using the local Kafka and S3 of deploy\/local\/infra\.sh/);
    expect(choice.note).not.toContain('\n');
  });

  it('gives up on a registry that never answers within the time allowed', async () => {
    expect(await probeImages(runtime([], 'hangs'), ['kafka:1'], 20)).toEqual({ state: 'cannot-pull', image: 'kafka:1', reason: 'no answer from the registry in 0.02 s' });
  });

  it('uses the local servers without a word when no runtime answers', () => {
    expect(infraChoice({ state: 'absent' })).toEqual({ use: 'local' });
  });

  it('checks the reaper image testcontainers starts first', () => {
    const reaper = readFileSync(createRequire(import.meta.url).resolve('testcontainers/build/reaper/reaper.js'), 'utf8');
    expect(reaper).toContain(`ImageName.fromString("${REAPER_IMAGE}")`);
  });
});
