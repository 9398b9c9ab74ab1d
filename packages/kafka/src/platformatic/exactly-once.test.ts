import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { createKafkaClient } from './client.js';

const options = { groupId: 'workers', topic: 'frames.v1', handler: () => Promise.resolve([]), onPermanentError: () => [], logger: createLogger({ service: 'test', level: 'silent' }) };

describe('the exactly-once processor and the group protocol', () => {
  it('refuses the KIP-848 consumer protocol, from the client config or its own options, with a typed error that says what to set', () => {
    const client = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'test', groupProtocol: 'consumer' });
    const refused = (() => {
      try {
        client.exactlyOnce(options);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(LoomwatchError);
    expect(refused).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/kafka\.groupProtocol consumer .*group workers.*set kafka\.groupProtocol to 'classic'/) });
    const classic = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'test' });
    expect(() => classic.exactlyOnce({ ...options, groupProtocol: 'consumer' })).toThrow(/kafka\.groupProtocol consumer/);
    expect(classic.exactlyOnce({ ...options, groupInstanceId: 'worker-0' }).running).toBe(false);
  });
});
