import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STANDARD_ENV_ALIASES, loadConfig } from '@loomwatch/config';
import { GATEWAY_ENV_ALIASES, GatewayConfig } from './config.js';

describe('gateway config', () => {
  it('defaults to the frames topic, the frames bucket and the AITEX folder beside the repo', () => {
    const config = loadConfig(GatewayConfig, { env: {} });
    expect(config.gateway).toMatchObject({ bucket: 'loomwatch-frames', topic: 'frames.v1' });
    expect(config.simulator.dir).toMatch(/shared\/datasets\/aitex$/);
    expect(config.simulator.framesPerCamera).toBeUndefined();
    expect(config.http).toEqual({
      port: 8080,
      host: '127.0.0.1',
      auth: 'token',
      maxBodyBytes: 64 * 1024 * 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerClient: 16,
    });
  });

  it("takes the cameras' credentials file from LOOMWATCH_CAMERA_CREDENTIALS_FILE and the limits from the http section", () => {
    const config = loadConfig(GatewayConfig, {
      env: { LOOMWATCH_CAMERA_CREDENTIALS_FILE: '/etc/loomwatch/cameras.json', LOOMWATCH_HTTP__MAX_BODY_BYTES: '1048576' },
      envAliases: { ...STANDARD_ENV_ALIASES, ...GATEWAY_ENV_ALIASES },
      overrides: ['http.maxRequestsPerClient=4'],
    });
    expect(config.http).toMatchObject({ cameraCredentialsFile: '/etc/loomwatch/cameras.json', maxBodyBytes: 1_048_576, maxRequestsPerClient: 4 });
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['http.auth=open'] })).toThrow(/http\.auth/);
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

  it('has no partitions setting: the gateway never creates its topic (loomwatch topics apply does)', () => {
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['gateway.partitions=4'] })).toThrow(/gateway\.partitions: unknown setting/);
  });

  it('takes a fabric for the hot folder and for its subfolders, a code of digits staying text', () => {
    const unset = loadConfig(GatewayConfig, { env: {} });
    expect(unset.hotFolder.fabricCode).toBeUndefined();
    expect(unset.hotFolder.fabricBySubfolder).toEqual({});
    const config = loadConfig(GatewayConfig, {
      env: { LOOMWATCH_HOT_FOLDER__FABRIC_CODE: '05' },
      overrides: ['hotFolder.fabricBySubfolder.twill=07', 'hotFolder.fabricBySubfolder.denim-blue=denim.2'],
    });
    expect(config.hotFolder.fabricCode).toBe('05');
    expect(config.hotFolder.fabricBySubfolder).toEqual({ twill: '07', 'denim-blue': 'denim.2' });
  });

  it('names the path of a bad fabric code or subfolder, and asks for quotes around a code YAML read as a number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, 'hotFolder:\n  fabricCode: 05\n');
    expect(() => loadConfig(GatewayConfig, { env: {}, files: [file] })).toThrow(/hotFolder\.fabricCode: a fabric code is text: quote/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['hotFolder.fabricCode=denim blue'] })).toThrow(/hotFolder\.fabricCode: use letters, digits/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['hotFolder.fabricBySubfolder.twill=a:b'] })).toThrow(/hotFolder\.fabricBySubfolder\.twill: use letters, digits/);
    writeFileSync(file, 'hotFolder:\n  fabricBySubfolder:\n    ../elsewhere: \'05\'\n');
    expect(() => loadConfig(GatewayConfig, { env: {}, files: [file] })).toThrow(/hotFolder\.fabricBySubfolder\.\.\.\/elsewhere: not a subfolder name/);
  });

  it('refuses a misspelt key, naming its path and where it came from', () => {
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['simulator.framesPerCam=3'] })).toThrow(/simulator\.framesPerCam: unknown setting \(from --set simulator\.framesPerCam\)/);
    expect(() => loadConfig(GatewayConfig, { env: { LOOMWATCH_HOT_FOLDER__SETTLE: '100' } })).toThrow(/hotFolder\.settle: unknown setting \(from LOOMWATCH_HOT_FOLDER__SETTLE\)/);
    expect(() => loadConfig(GatewayConfig, { env: {}, overrides: ['gateways.topic=x'] })).toThrow(/gateways: unknown setting/);
  });
});
