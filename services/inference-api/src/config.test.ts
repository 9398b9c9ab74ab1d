import { describe, expect, it } from 'vitest';
import { loadConfig, redactSecrets } from '@loomwatch/config';
import { ApiConfig } from './config.js';

describe('ApiConfig', () => {
  it('has bounded defaults: two in flight, a small queue, a 64 MiB body, auth on', () => {
    const config = loadConfig(ApiConfig, { env: {} });
    expect(config.api).toMatchObject({ port: 8090, host: '127.0.0.1', maxInFlight: 2, maxQueued: 2, auth: 'token', tokenDigests: [] });
    expect(config.http).toMatchObject({ maxBodyBytes: 64 * 1024 * 1024, maxRequestsPerClient: 16 });
    expect(config.api.token).toBeUndefined();
    expect(config.model).toBeUndefined();
  });

  it('takes the token from LOOMWATCH_API_TOKEN and never prints it', () => {
    const token = 'a-token-of-sufficient-length';
    const config = loadConfig(ApiConfig, { env: { LOOMWATCH_API_TOKEN: token }, envAliases: { LOOMWATCH_API_TOKEN: 'api.token' } });
    expect(config.api.token).toBe(token);
    expect(JSON.stringify(redactSecrets(config))).not.toContain(token);
  });

  it('refuses an unknown key, a short token, a digest that is no SHA-256 and another auth mode, naming the path', () => {
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.maxInflight=3'] })).toThrow(/api\.maxInflight/);
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.token=short'] })).toThrow(/api\.token/);
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.tokenDigests=abc'] })).toThrow(/api\.tokenDigests/);
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.auth=basic'] })).toThrow(/api\.auth/);
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.maxBodyBytes=10'] })).toThrow(/api\.maxBodyBytes/);
  });
});
