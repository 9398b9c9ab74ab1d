import { describe, expect, it } from 'vitest';
import { loadConfig, redactSecrets } from '@loomwatch/config';
import { DashboardConfig, objectAllowances } from './config.js';

describe('the dashboard config', () => {
  it('defaults to the Loomwatch topics, the workers\' group and the buckets the gateway and workers write', () => {
    const config = DashboardConfig.parse({ auth: { mode: 'none' } });
    expect(config.dashboard.port).toBe(8095);
    expect(config.ops.port).toBe(9470);
    expect(config.topics).toEqual({ verdicts: 'verdicts.v1', alerts: 'alerts.v1', deadLetters: 'frames.dlq.v1', control: 'control.v1', drift: 'drift.v1', frames: 'frames.v1', feedback: 'feedback.v1' });
    expect(config.review).toEqual({ nearThreshold: 0.8, sampleOneIn: 20, sampleSeed: 'loomwatch' });
    expect(config.lag.groupId).toBe('loomwatch-inference');
    expect(config.objects.allow).toEqual([
      { bucket: 'loomwatch-frames', prefixes: ['frames/'] },
      { bucket: 'loomwatch-results', prefixes: ['maps/', 'overlays/'] },
    ]);
  });

  it('needs sign-in by default: without the provider and secrets it refuses to start, naming each missing key', () => {
    expect(() => loadConfig(DashboardConfig, { env: {} })).toThrow(/auth\.oidc\.issuer[\s\S]*auth\.oidc\.clientId[\s\S]*auth\.oidc\.clientSecret[\s\S]*auth\.oidc\.redirectUrl[\s\S]*auth\.sessionSecret/);
    const oidc = { issuer: 'https://login.plant.example/realms/plant', clientId: 'loomwatch-dashboard', clientSecret: 's3cr3t', redirectUrl: 'https://loomwatch.plant.example/auth/callback' };
    expect(() => DashboardConfig.parse({ auth: { oidc, sessionSecret: 'too-short' } })).toThrow(/at least 32 characters/);
    expect(() => DashboardConfig.parse({ auth: { oidc: { ...oidc, issuer: 'http://login.plant.example' }, sessionSecret: 'x'.repeat(32) } })).toThrow(/must be https/);
    const config = DashboardConfig.parse({ auth: { oidc, sessionSecret: 'x'.repeat(32) } });
    expect(config.auth).toMatchObject({ mode: 'oidc', rolesClaim: 'groups', secureCookies: true, sessionTtlMs: 8 * 3600_000 });
    expect(config.auth.roles).toEqual({ viewer: ['loomwatch-viewers'], operator: ['loomwatch-operators'], engineer: ['loomwatch-engineers'] });
    // On this machine, over http: cookies cannot be Secure.
    const local = DashboardConfig.parse({ auth: { oidc: { ...oidc, issuer: 'http://127.0.0.1:19080', redirectUrl: 'http://127.0.0.1:8095/auth/callback' }, sessionSecret: 'x'.repeat(32), roles: { operator: 'line-leads' } } });
    expect(local.auth.secureCookies).toBe(false);
    expect(local.auth.roles.operator).toEqual(['line-leads']);
  });

  it('takes the client and session secrets from the environment and redacts them when the config is logged', () => {
    const env = { LOOMWATCH_OIDC_CLIENT_SECRET: 'client-secret-value-1', LOOMWATCH_SESSION_SECRET: 'session-secret-value-0123456789abcdef' };
    const config = loadConfig(DashboardConfig, {
      envAliases: { LOOMWATCH_OIDC_CLIENT_SECRET: 'auth.oidc.clientSecret', LOOMWATCH_SESSION_SECRET: 'auth.sessionSecret' },
      env,
      overrides: ['auth.oidc.issuer=http://127.0.0.1:19080', 'auth.oidc.clientId=loomwatch-dashboard', 'auth.oidc.redirectUrl=http://127.0.0.1:8095/auth/callback'],
    });
    expect(config.auth.oidc.clientSecret).toBe(env.LOOMWATCH_OIDC_CLIENT_SECRET);
    const logged = JSON.stringify(redactSecrets(config));
    for (const secret of Object.values(env)) expect(logged).not.toContain(secret);
  });

  it('refuses an unknown key and a prefix that could reach a whole bucket, naming the path', () => {
    expect(() => loadConfig(DashboardConfig, { overrides: ['auth.mode=none', 'dashboard.prot=1'], env: {} })).toThrow(/dashboard.*prot/);
    expect(() => loadConfig(DashboardConfig, { overrides: ['auth.mode=none', 'objects.allow=[{"bucket":"loomwatch-results","prefixes":["/"]}]'], env: {} })).toThrow(/objects\.allow\.0\.prefixes\.0/);
    expect(() => loadConfig(DashboardConfig, { overrides: ['auth.mode=none', 'objects.allow=[{"bucket":"loomwatch-results","prefixes":["maps"]}]'], env: {} })).toThrow(/ending in "\/"/);
  });

  it('takes the S3 credentials from the environment and redacts the secret when the config is logged', () => {
    const config = loadConfig(DashboardConfig, { envAliases: { S3_SECRET_ACCESS_KEY: 's3.secretAccessKey' }, env: { S3_SECRET_ACCESS_KEY: 'very-secret-key-123' }, overrides: ['auth.mode=none'] });
    expect(config.s3.secretAccessKey).toBe('very-secret-key-123');
    expect(JSON.stringify(redactSecrets(config))).not.toContain('very-secret-key-123');
  });

  it('lets the proxy read the retrain reports: loomwatch-datasets under retrain/ by default, added to objects.allow or to its entry of that bucket', () => {
    const config = DashboardConfig.parse({ auth: { mode: 'none' } });
    expect(config.objects.retrainReports).toEqual({ bucket: 'loomwatch-datasets', prefix: 'retrain/' });
    expect(objectAllowances(config.objects)).toEqual([...config.objects.allow, { bucket: 'loomwatch-datasets', prefixes: ['retrain/'] }]);
    const shared = DashboardConfig.parse({ auth: { mode: 'none' }, objects: { allow: [{ bucket: 'results', prefixes: ['maps/'] }], retrainReports: { bucket: 'results', prefix: 'reports/' } } });
    expect(objectAllowances(shared.objects)).toEqual([{ bucket: 'results', prefixes: ['maps/', 'reports/'] }]);
    const listed = DashboardConfig.parse({ auth: { mode: 'none' }, objects: { allow: [{ bucket: 'loomwatch-datasets', prefixes: ['retrain/'] }] } });
    expect(objectAllowances(listed.objects)).toEqual([{ bucket: 'loomwatch-datasets', prefixes: ['retrain/'] }]);
    expect(() => loadConfig(DashboardConfig, { overrides: ['auth.mode=none', 'objects.retrainReports.prefix=retrain'], env: {} })).toThrow(/objects\.retrainReports\.prefix/);
  });
});
