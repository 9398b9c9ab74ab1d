import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { KafkaConfig } from './schemas.js';
import { settingsHelp, settingsOf } from './settings-help.js';

const Schema = z.strictObject({
  kafka: KafkaConfig.default({ brokers: ['127.0.0.1:19092'], clientId: 'loomwatch', groupProtocol: 'classic' }),
  worker: z
    .strictObject({
      maxInFlight: z.int().min(1).default(3),
      topics: z.array(z.string()).default([]),
      name: z.string().optional(),
    })
    .default({ maxInFlight: 3, topics: [] }),
  model: z.string().optional(),
});

describe('settingsOf', () => {
  it('lists every leaf key of a config schema with its default as one would --set it, unset ones too', () => {
    expect(settingsOf(Schema)).toEqual([
      ['kafka.brokers', '127.0.0.1:19092'],
      ['kafka.clientId', 'loomwatch'],
      ['kafka.sasl.mechanism', 'SCRAM-SHA-512'],
      ['kafka.sasl.username', '(unset)'],
      ['kafka.sasl.password', '(unset)'],
      ['kafka.tls.caFile', '(unset)'],
      ['kafka.tls.rejectUnauthorized', 'true'],
      ['kafka.groupProtocol', 'classic'],
      ['worker.maxInFlight', '3'],
      ['worker.topics', '(empty)'],
      ['worker.name', '(unset)'],
      ['model', '(unset)'],
    ]);
  });

  it('lines the defaults up under a heading', () => {
    const help = settingsHelp(Schema);
    expect(help[0]).toBe('settings (--set key=value) and their defaults:');
    expect(help).toContain('  worker.maxInFlight            3');
  });
});
