import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import type { GroupProtocol } from '../ports.js';
import { createKafkaClient } from './client.js';

const options = { groupId: 'workers', topic: 'frames.v1', handler: () => Promise.resolve([]), onPermanentError: () => [], logger: createLogger({ service: 'test', level: 'silent' }) };

describe('the exactly-once processor and the group protocol', () => {
  it('takes the KIP-848 consumer protocol from the client config or its own options, and classic by default', () => {
    expect(createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'test', groupProtocol: 'consumer' }).exactlyOnce(options).running).toBe(false);
    const classic = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'test' });
    expect(classic.exactlyOnce({ ...options, groupProtocol: 'consumer', groupInstanceId: 'worker-0' }).running).toBe(false);
    expect(classic.exactlyOnce({ ...options, groupInstanceId: 'worker-0' }).running).toBe(false);
  });

  it('refuses a group protocol that is neither, with a typed error that says what to set', () => {
    const client = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'test' });
    const refused = (() => {
      try {
        client.exactlyOnce({ ...options, groupProtocol: 'streams' as GroupProtocol });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(LoomwatchError);
    expect(refused).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/kafka\.groupProtocol streams .*group workers.*'classic' or 'consumer'/) });
  });
});
