import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { infraMode } from './container-settings.js';
import { REAPER_IMAGE } from './containers.js';
import { testInstanceSettings } from './infra.js';

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

describe('the choice between the local servers and containers', () => {
  it('keeps the local servers unless LOOMWATCH_INFRA=containers, whether or not a container engine answers', () => {
    expect(infraMode({})).toBe('local');
    expect(infraMode({ LOOMWATCH_INFRA: '' })).toBe('local');
    expect(infraMode({ LOOMWATCH_INFRA: 'local' })).toBe('local');
    expect(infraMode({ LOOMWATCH_INFRA: 'containers' })).toBe('containers');
  });

  it('refuses any other value, naming the two it takes', () => {
    expect(() => infraMode({ LOOMWATCH_INFRA: 'docker' })).toThrow(/^LOOMWATCH_INFRA=docker is neither local nor containers: unset it .* LOOMWATCH_INFRA=containers/);
  });

  it('checks the reaper image testcontainers starts first', () => {
    const reaper = readFileSync(createRequire(import.meta.url).resolve('testcontainers/build/reaper/reaper.js'), 'utf8');
    expect(reaper).toContain(`ImageName.fromString("${REAPER_IMAGE}")`);
  });
});
