import { describe, expect, it } from 'vitest';
import { cloudEventHeaders, traceIdOf, traceparent } from './headers.js';

describe('CloudEvents headers', () => {
  it('carry the binary-mode attributes and a valid traceparent', () => {
    const headers = cloudEventHeaders('io.loomwatch.frame.v1', '/lines/1', { id: 'abc', time: new Date(0) });
    expect(headers).toMatchObject({
      ce_id: 'abc',
      ce_type: 'io.loomwatch.frame.v1',
      ce_source: '/lines/1',
      ce_specversion: '1.0',
      ce_time: '1970-01-01T00:00:00.000Z',
      'content-type': 'application/json',
    });
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('keep the trace id of the parent and make a new span id', () => {
    const parent = traceparent();
    const child = traceparent(parent);
    expect(traceIdOf(child)).toBe(traceIdOf(parent));
    expect(child).not.toBe(parent);
  });

  it('start a new trace when the parent header is malformed', () => {
    expect(traceIdOf(traceparent('garbage'))).toMatch(/^[0-9a-f]{32}$/);
  });
});
