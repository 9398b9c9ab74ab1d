import { describe, expect, it } from 'vitest';
import { Deployment, DriftEvent, RetrainRequest, encodeMessage } from '@loomwatch/contracts';
import type { BrokerOffsets, InboundRecord } from '@loomwatch/kafka';
import { eventOf, measureLag, ViewStore } from './feed.js';
import { deploymentFixture, driftFixture, retrainFixture, retrainStatusFixture } from './testing.js';
import { DEFAULT_LIMITS } from './view.js';

const record = (key: string | undefined, value: Buffer | null): InboundRecord => ({ topic: 't', partition: 0, offset: '0', key, value, headers: {}, timestamp: '0' });

describe('the feed', () => {
  it('reads deployments off the control topic and passes over replay plans and tombstones', () => {
    const deployment = deploymentFixture(4);
    expect(eventOf('control', record('deployment:draem-aitex', encodeMessage(Deployment, deployment)))).toEqual({ type: 'deployment', deployment });
    expect(eventOf('control', record('replay:r1', Buffer.from('{"kind":"replay"}')))).toBeUndefined();
    expect(eventOf('control', record('deployment:draem-aitex', null))).toBeUndefined();
  });

  it('reads retrain requests off the control topic under their key, and refuses one that does not match the contract', () => {
    const request = retrainFixture(retrainStatusFixture('replayed'));
    expect(eventOf('control', record('retrain:draem-aitex:05', encodeMessage(RetrainRequest, request)))).toEqual({ type: 'retrain', key: 'retrain:draem-aitex:05', request });
    expect(eventOf('control', record('retrain:draem-aitex:05', null))).toBeUndefined();
    expect(() => eventOf('control', record('retrain:draem-aitex:05', Buffer.from('{"kind":"retrain-request"}')))).toThrow(expect.objectContaining({ code: 'MESSAGE_SCHEMA_VIOLATION' }));
  });

  it('refuses a record that does not match its topic\'s schema with the contract\'s error code', () => {
    expect(() => eventOf('drift', record('a:b', Buffer.from('{"lineId":"a"}')))).toThrow(expect.objectContaining({ code: 'MESSAGE_SCHEMA_VIOLATION' }));
    expect(() => eventOf('verdicts', record('a:b', Buffer.from('nope')))).toThrow(expect.objectContaining({ code: 'MESSAGE_NOT_JSON' }));
    expect(eventOf('drift', record('a:b', encodeMessage(DriftEvent, driftFixture(['input-ks']))))?.type).toBe('drift');
  });

  it('tells its listeners about changes only', () => {
    const store = new ViewStore(DEFAULT_LIMITS);
    const heard: string[] = [];
    store.subscribe((event) => heard.push(event.type));
    const deployment = deploymentFixture(2);
    store.apply({ type: 'deployment', deployment });
    store.apply({ type: 'deployment', deployment });
    store.apply({ type: 'deployment', deployment: deploymentFixture(1) });
    expect(heard).toEqual(['deployment']);
  });

  it('measures lag as the high watermark minus the committed offset, from the low watermark where the group committed nothing', async () => {
    const offsets = {
      watermarks: () => Promise.resolve([{ partition: 1, low: 5, high: 9 }, { partition: 0, low: 0, high: 10 }]),
      committed: () => Promise.resolve(new Map([[0, 7]])),
    } as unknown as BrokerOffsets;
    const lag = await measureLag(offsets, 'workers', 'frames.v1', new Date('2026-12-04T10:00:00Z'));
    expect(lag).toEqual({
      groupId: 'workers',
      topic: 'frames.v1',
      measuredAt: '2026-12-04T10:00:00.000Z',
      total: 7,
      partitions: [
        { partition: 0, committed: 7, high: 10, lag: 3 },
        { partition: 1, high: 9, lag: 4 },
      ],
    });
  });
});
