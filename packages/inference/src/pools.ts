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
