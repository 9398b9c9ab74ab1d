import { describe, expect, it } from 'vitest';
import { stopsAtEnd } from './infra.js';

describe('stopsAtEnd', () => {
  it('stops the local servers only when the run found both stopped', () => {
    const status = (kafka: string, s3: string): string => `infra.sh: kafka: ${kafka}\ninfra.sh: s3: ${s3}\n`;
    expect(stopsAtEnd(status('stopped', 'stopped'))).toBe(true);
    expect(stopsAtEnd(status('running (pid 7), answering at 127.0.0.1:19092', 'stopped'))).toBe(false);
    expect(stopsAtEnd(status('stopped', 'running (pid 8), NOT answering at http://127.0.0.1:19000 (log: x)'))).toBe(false);
    expect(stopsAtEnd(status('running (pid 7), answering at 127.0.0.1:19092', 'running (pid 8), answering at http://127.0.0.1:19000'))).toBe(false);
  });
});
