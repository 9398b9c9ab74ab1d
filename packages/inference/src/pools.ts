/** A free list of equally sized work buffers: frames in flight borrow one and give it back. */
export class BufferPool<T> {
  private readonly free: T[] = [];

  constructor(private readonly make: () => T) {}

  acquire(): T {
    return this.free.pop() ?? this.make();
  }

  release(buffer: T): void {
    this.free.push(buffer);
  }
}

/** Runs async jobs one at a time, in call order (a model session is used by one run at a time). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
