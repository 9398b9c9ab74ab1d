import { describe, expect, it } from 'vitest';
import { ServiceHealth } from './health.js';

/** A consumer as RecordProcessor reports it: `running`, and `onFatal` once it crashed for good. */
function consumer() {
  const listeners: ((error: Error) => void)[] = [];
  return {
    running: true,
    onFatal(listener: (error: Error) => void): void {
      listeners.push(listener);
    },
    crash(error: Error): void {
      this.running = false;
      for (const listener of listeners) listener(error);
    },
  };
}

describe('alerting health', () => {
  it('is ready only between start and stop, and only while every consumer runs', () => {
    const health = new ServiceHealth(() => undefined);
    const [alerts, webhooks] = [consumer(), consumer()];
    health.watch([alerts, webhooks]);
    expect(health.ready()).toBe(false);
    health.setServing(true);
    expect(health.ready()).toBe(true);
    webhooks.running = false;
    expect(health.ready()).toBe(false);
    webhooks.running = true;
    health.setServing(false);
    expect(health.ready()).toBe(false);
  });

  it('stops the service when a consumer crashes for good, and stays unready', () => {
    const faults: unknown[] = [];
    const health = new ServiceHealth((error) => faults.push(error));
    const verdicts = consumer();
    health.watch([verdicts, consumer()]);
    health.setServing(true);
    const crash = new Error('the group coordinator is gone for good');
    verdicts.crash(crash);
    expect(faults).toEqual([crash]);
    expect(health.failed).toBe(true);
    expect(health.ready()).toBe(false);
  });

  it('reports only the first fault: what follows from it is not a second reason to stop', () => {
    const faults: unknown[] = [];
    const health = new ServiceHealth((error) => faults.push(error));
    const first = new Error('transaction failed');
    health.fail(first);
    health.fail(new Error('offset came again after it was committed'));
    expect(faults).toEqual([first]);
    expect(health.ready()).toBe(false);
  });
});
