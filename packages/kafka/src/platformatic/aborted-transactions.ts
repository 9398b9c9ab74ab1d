/**
 * Read-committed fetches that drop every aborted transaction. @platformatic/kafka 2.12 keeps one
 * aborted range per producer id per fetch, so when a producer aborted several transactions that one
 * fetch covers (a fenced zombie retrying its transaction, say) only the last is dropped and the
 * records of the others reach the reader as if committed; a range whose abort marker is past the
 * fetch is kept too. Here the fetch answer is filtered the way the Java client does it, before the
 * client sees it, and its list of aborted transactions emptied so the client filters nothing more.
 */
import { Base, kGetApi } from '@platformatic/kafka';

const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;
/** Control record type 0 is an abort marker, 1 a commit marker (the key's second int16). */
const ABORT_MARKER = 0;

/** The parts of a fetched record batch the filter reads. */
export interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  producerId: bigint;
  attributes: number;
  records: readonly { key?: Buffer | null | undefined }[];
}

/** One partition of a fetch answer: its batches, and the aborted transactions they may hold. */
export interface FetchedPartition {
  records?: FetchedBatch[] | null;
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null;
}

/**
 * The batches of `partition` less the records of aborted transactions (control batches stay: the
 * stream needs them to move its offset past). A transaction listed as aborted covers its producer's
 * transactional batches from its first offset up to that producer's next abort marker, or to the
 * end of the fetch when the marker comes later (read_committed lists only finished transactions).
 */
export function withoutAbortedRecords(partition: FetchedPartition): FetchedBatch[] {
  const batches = partition.records ?? [];
  const pending = [...(partition.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  if (pending.length === 0) return batches;
  const aborting = new Set<bigint>();
  const kept: FetchedBatch[] = [];
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    while (pending.length > 0 && (pending[0]?.firstOffset ?? lastOffset + 1n) <= lastOffset) aborting.add((pending.shift() as { producerId: bigint }).producerId);
    if ((batch.attributes & IS_CONTROL) !== 0) {
      const key = batch.records[0]?.key;
      if (key !== undefined && key !== null && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) aborting.delete(batch.producerId);
      kept.push(batch);
      continue;
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && aborting.has(batch.producerId)) continue;
    kept.push(batch);
  }
  return kept;
}

interface FetchAnswer {
  responses?: { partitions?: FetchedPartition[] }[];
}

/** Filters a fetch answer in place (see {@link withoutAbortedRecords}). */
export function dropAbortedRecords(answer: FetchAnswer | undefined): void {
  for (const topic of answer?.responses ?? []) {
    for (const partition of topic.partitions ?? []) {
      if ((partition.abortedTransactions?.length ?? 0) === 0 || partition.records === undefined || partition.records === null) continue;
      partition.records = withoutAbortedRecords(partition);
      partition.abortedTransactions = [];
    }
  }
}

type RawApi = ((...args: unknown[]) => void) & { async: unknown; key: number; version: number };
type GetRawApi = (this: Base, name: string, callback: (error: Error | null, api?: RawApi) => void) => void;

/** Every client of this process filters its fetch answers (installed once, on import). */
const getApi = Base.prototype[kGetApi] as unknown as GetRawApi;
const patched: GetRawApi = function (name, callback) {
  if (name !== 'Fetch') {
    Reflect.apply(getApi, this, [name, callback]);
    return;
  }
  Reflect.apply(getApi, this, [
    name,
    (error: Error | null, api?: RawApi) => {
      if (error !== null || api === undefined) {
        callback(error, api);
        return;
      }
      const filtering = (...args: unknown[]): void => {
        const answer = typeof args[args.length - 1] === 'function' ? (args.pop() as (error: unknown, response?: unknown) => void) : () => undefined;
        api(...args, (err: unknown, response?: unknown) => {
          dropAbortedRecords((response ?? (err as { response?: FetchAnswer } | undefined)?.response));
          answer(err, response);
        });
      };
      callback(null, Object.assign(filtering, { async: api.async, key: api.key, version: api.version }));
    },
  ]);
};
Base.prototype[kGetApi] = patched as unknown as Base[typeof kGetApi];
