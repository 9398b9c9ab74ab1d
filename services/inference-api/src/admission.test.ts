import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

describe('Admission', () => {
  it('admits up to maxInFlight at once, queues up to maxQueued and refuses the rest', async () => {
    const gate = new Admission(2, 1);
    const first = gate.tryEnter();
    const second = gate.tryEnter();
    const third = gate.tryEnter();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(third).toBeDefined();
    expect(gate.tryEnter()).toBeUndefined();
    expect([gate.inFlight, gate.queued]).toEqual([2, 1]);
    await first;
    await second;
  });

  it('hands a freed slot to the first waiter, in arrival order', async () => {
    const gate = new Admission(1, 2);
    const release = await gate.tryEnter();
    const order: string[] = [];
    const a = gate.tryEnter()?.then((r) => (order.push('a'), r));
    const b = gate.tryEnter()?.then((r) => (order.push('b'), r));
    release?.();
    const releaseA = await a;
    expect(order).toEqual(['a']);
    expect([gate.inFlight, gate.queued]).toEqual([1, 1]);
    releaseA?.();
    (await b)?.();
    expect(order).toEqual(['a', 'b']);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  it('with no queue refuses the second request while the first runs, and admits again after release', async () => {
    const gate = new Admission(1, 0);
    const release = await gate.tryEnter();
    expect(gate.tryEnter()).toBeUndefined();
    release?.();
    expect(gate.tryEnter()).toBeDefined();
  });

  it('ignores a second release of the same slot', async () => {
    const gate = new Admission(1, 0);
    const release = await gate.tryEnter();
    const other = await gate.tryEnter();
    expect(other).toBeUndefined();
    release?.();
    const again = await gate.tryEnter();
    release?.();
    expect(gate.inFlight).toBe(1);
    again?.();
    expect(gate.inFlight).toBe(0);
  });
});
