import { describe, expect, it } from 'vitest';
import { STANDARD_ENV_ALIASES, loadConfig } from '@loomwatch/config';
import { GatewayConfig } from './config.js';

describe('gateway config', () => {
  it('defaults to the frames topic, the frames bucket and the AITEX folder beside the repo', () => {
    const config = loadConfig(GatewayConfig, { env: {} });
    expect(config.gateway).toMatchObject({ bucket: 'loomwatch-frames', topic: 'frames.v1' });
    expect(config.simulator.dir).toMatch(/shared\/datasets\/aitex$/);
    expect(config.simulator.framesPerCamera).toBeUndefined();
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1', maxBodyBytes: 64 * 1024 * 1024 });
  });

  it('takes the AITEX folder from AITEX_DIR and overrides from --set', () => {
    const config = loadConfig(GatewayConfig, {
      env: { AITEX_DIR: '/data/aitex' },
      envAliases: { ...STANDARD_ENV_ALIASES, AITEX_DIR: 'simulator.dir' },
      overrides: ['simulator.framesPerCamera=3', 'hotFolder.dir=/in'],
    });
    expect(config.simulator).toMatchObject({ dir: '/data/aitex', framesPerCamera: 3 });
    expect(config.hotFolder.dir).toBe('/in');
  });

  it('names the offending path', () => {
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['hotFolder.cameraId=a:b'] })).toThrow(/hotFolder\.cameraId/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['gateway.bucket=Frames_Bucket'] })).toThrow(/gateway\.bucket/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['simulator.fps=-1'] })).toThrow(/simulator\.fps/);
  });

  it('refuses a misspelt key, naming its path and where it came from', () => {
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['simulator.framesPerCam=3'] })).toThrow(/simulator\.framesPerCam: unknown setting \(from --set simulator\.framesPerCam\)/);
    expect(() => loadConfig(GatewayConfig, { env: { LOOMWATCH_HOT_FOLDER__SETTLE: '100' } })).toThrow(/hotFolder\.settle: unknown setting \(from LOOMWATCH_HOT_FOLDER__SETTLE\)/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['gateways.topic=x'] })).toThrow(/gateways: unknown setting/);
  });
});
