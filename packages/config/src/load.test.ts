import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from './load.js';
import { redactSecrets, redactUrl } from './redact.js';
import { KafkaConfig, S3Config, STANDARD_ENV_ALIASES } from './schemas.js';

const Schema = z.object({
  kafka: KafkaConfig.default({ brokers: ['127.0.0.1:19092'], clientId: 'loomwatch', groupProtocol: 'classic' }),
  s3: S3Config.prefault({}),
  worker: z.object({ maxInFlight: z.int().positive().default(4), clientId: z.string().default('w') }).prefault({}),
});

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('applies defaults when nothing is given', () => {
    const config = loadConfig(Schema, { env: {} });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.worker.maxInFlight).toBe(4);
  });

  it('layers files, then environment, then --set overrides', () => {
    const base = yamlFile('worker:\n  maxInFlight: 2\n  clientId: from-file\n');
    const config = loadConfig(Schema, {
      files: [base],
      env: { LOOMWATCH_WORKER__MAX_IN_FLIGHT: '6', KAFKA_BROKERS: 'a:1, b:2' },
      envAliases: STANDARD_ENV_ALIASES,
      overrides: ['worker.clientId=from-cli'],
    });
    expect(config.worker).toEqual({ maxInFlight: 6, clientId: 'from-cli' });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('names the offending path in the error', () => {
    expect(() => loadConfig(Schema, { env: {}, overrides: ['worker.maxInFlight=-1'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('worker.maxInFlight') }),
    );
  });

  it('says a missing setting is required', () => {
    const WithRequired = z.object({ hotFolder: z.object({ dir: z.string(), settleMs: z.int().default(500) }) });
    expect(() => loadConfig(WithRequired, { env: {}, overrides: ['hotFolder.settleMs=100'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: 'invalid configuration — hotFolder.dir: required' }),
    );
  });

  it('says which file it could not read', () => {
    expect(() => loadConfig(Schema, { env: {}, files: ['/nonexistent/loomwatch.yaml'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE', message: expect.stringContaining('/nonexistent/loomwatch.yaml') }),
    );
  });

  it('keeps text where the schema wants a string: a secret of digits, a client id like 1.10, a boolean word', () => {
    const config = loadConfig(Schema, {
      env: { S3_SECRET_ACCESS_KEY: '00123456', LOOMWATCH_KAFKA__CLIENT_ID: '1.10' },
      envAliases: STANDARD_ENV_ALIASES,
      overrides: ['worker.clientId=true'],
    });
    expect(config.s3.secretAccessKey).toBe('00123456');
    expect(config.kafka.clientId).toBe('1.10');
    expect(config.worker.clientId).toBe('true');
    // …and a number where it wants a number.
    expect(loadConfig(Schema, { env: { LOOMWATCH_WORKER__MAX_IN_FLIGHT: '7' } }).worker.maxInFlight).toBe(7);
  });

  it('rejects an override without "="', () => {
    expect(() => loadConfig(Schema, { env: {}, overrides: ['worker.maxInFlight'] })).toThrow(/path\.to\.key=value/);
  });
});

describe('redaction', () => {
  it('hides secrets at any depth and leaves the rest', () => {
    const config = loadConfig(Schema, { env: { S3_SECRET_ACCESS_KEY: 'hunter2' }, envAliases: STANDARD_ENV_ALIASES });
    const printed = JSON.stringify(redactSecrets(config));
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain('"accessKeyId":"loomwatch"');
  });

  it('masks a password inside a URL, also wherever a URL sits in printed config', () => {
    expect(redactUrl('http://user:pa55@host:9000/x')).toBe('http://user:[redacted]@host:9000/x');
    const printed = JSON.stringify(redactSecrets({ webhooks: [{ url: 'https://mes:pa55@mes.plant/hook', name: 'mes' }] }));
    expect(printed).not.toContain('pa55');
    expect(printed).toContain('https://mes:[redacted]@mes.plant/hook');
  });
});

describe('strict configuration', () => {
  const Strict = z.strictObject({
    worker: z.strictObject({ maxInFlight: z.int().positive().default(4) }).prefault({}),
    kafka: KafkaConfig.prefault({}),
  });

  it('refuses a misspelt key in a file, naming its path', () => {
    const file = yamlFile('worker:\n  maxInflight: 2\n');
    expect(() => loadConfig(Strict, { env: {}, files: [file] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('worker.maxInflight: unknown setting') }),
    );
  });

  it('names the variable that set an unknown key', () => {
    expect(() => loadConfig(Strict, { env: { LOOMWATCH_WORKER__MAX_INFLIGHT: '2' } })).toThrow(/worker\.maxInflight: unknown setting \(from LOOMWATCH_WORKER__MAX_INFLIGHT\)/);
    expect(() => loadConfig(Strict, { env: {}, overrides: ['kafka.broker=x:1'] })).toThrow(/kafka\.broker: unknown setting \(from --set kafka\.broker\)/);
  });

  it("reads only the sections the schema has from the environment, and never the tools' own variables", () => {
    const config = loadConfig(Strict, {
      env: { LOOMWATCH_ALERTING__GROUP_ID: 'another-service', LOOMWATCH_CACHE: '/tmp/cache', LOOMWATCH_WORKER__MAX_IN_FLIGHT: '3' },
    });
    expect(config.worker.maxInFlight).toBe(3);
  });

  it('leaves alone a standard variable whose section the schema does not have, as S3_ENDPOINT for a service without S3', () => {
    const NoS3 = z.strictObject({ kafka: KafkaConfig.prefault({}) });
    const config = loadConfig(NoS3, { env: { S3_ENDPOINT: 'http://s3:9000', KAFKA_BROKERS: 'k:9092' }, envAliases: STANDARD_ENV_ALIASES });
    expect(config.kafka.brokers).toEqual(['k:9092']);
  });
});
