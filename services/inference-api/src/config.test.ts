import { describe, expect, it } from 'vitest';
import { loadConfig, redactSecrets } from '@loomwatch/config';
import { ApiConfig } from './config.js';

describe('ApiConfig', () => {
  it('has bounded defaults: two in flight, a small queue, no auth', () => {
    const config = loadConfig(ApiConfig, { env: {} });
    expect(config.api).toMatchObject({ port: 8090, host: '127.0.0.1', maxInFlight: 2, maxQueued: 2 });
    expect(config.api.bearerToken).toBeUndefined();
    expect(config.model).toBeUndefined();
  });

  it('takes the token from LOOMWATCH_API_TOKEN and never prints it', () => {
    const token = 'a-token-of-sufficient-length';
    const config = loadConfig(ApiConfig, { env: { LOOMWATCH_API_TOKEN: token }, envAliases: { LOOMWATCH_API_TOKEN: 'api.bearerToken' } });
    expect(config.api.bearerToken).toBe(token);
    expect(JSON.stringify(redactSecrets(config))).not.toContain(token);
  });

  it('refuses an unknown key and a short token, naming the path', () => {
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.maxInflight=3'] })).toThrow(/api\.maxInflight/);
    expect(() => loadConfig(ApiConfig, { env: {}, overrides: ['api.bearerToken=short'] })).toThrow(/api\.bearerToken/);
  });
});
