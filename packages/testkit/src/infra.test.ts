import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { REAPER_IMAGE, infraChoice, probeImages, stopsAtEnd, type ImageSource } from './infra.js';

describe('stopsAtEnd', () => {
  it('stops the local servers only when the run found both stopped', () => {
    const status = (kafka: string, s3: string): string => `infra.sh: kafka: ${kafka}\ninfra.sh: s3: ${s3}\n`;
    expect(stopsAtEnd(status('stopped', 'stopped'))).toBe(true);
    expect(stopsAtEnd(status('running (pid 7), answering at 127.0.0.1:19092', 'stopped'))).toBe(false);
    expect(stopsAtEnd(status('stopped', 'running (pid 8), NOT answering at http://127.0.0.1:19000 (log: x)'))).toBe(false);
    expect(stopsAtEnd(status('running (pid 7), answering at 127.0.0.1:19092', 'running (pid 8), answering at http://127.0.0.1:19000'))).toBe(false);
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
