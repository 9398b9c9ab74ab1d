import { HttpProblem } from './problem.js';

/** A page of `/api/verdicts`: newest first, within `[from, to)`, after the cursor's positions. */
export interface VerdictQuery {
  /** Epoch ms; undefined: the start of the topic. */
  fromMs?: number;
  /** Epoch ms, exclusive; undefined: now (the end of the topic). */
  toMs?: number;
  lineId?: string;
  cameraId?: string;
  verdict?: 'ok' | 'defect';
  limit: number;
  /** Per partition, the offset the next page ends before (what the previous page's `cursor` said). */
  cursor?: Map<number, number>;
}

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const CURSOR = /^\d{1,6}-\d{1,16}(\.\d{1,6}-\d{1,16}){0,4095}$/;
const KNOWN = new Set(['from', 'to', 'line', 'camera', 'verdict', 'limit', 'cursor']);

function invalid(message: string): HttpProblem {
  return new HttpProblem('QUERY_INVALID', 400, message);
}

/** A time parameter: an ISO 8601 timestamp with offset, or epoch milliseconds. */
function parseTime(name: string, value: string): number {
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(`${name}=${value.slice(0, 64)} is not a time: give an ISO 8601 timestamp (2026-12-04T17:00:00Z) or epoch milliseconds`);
  return ms;
}

/** The cursor a page hands back: `partition-offset` pairs joined by `.`. */
export function encodeCursor(positions: ReadonlyMap<number, number>): string {
  return [...positions]
    .sort(([a], [b]) => a - b)
    .map(([partition, offset]) => `${partition}-${offset}`)
    .join('.');
}

export function decodeCursor(cursor: string): Map<number, number> {
  if (!CURSOR.test(cursor)) throw invalid('cursor is not one this API handed out: pass the previous page\'s "cursor" unchanged');
  return new Map(
    cursor.split('.').map((pair) => {
      const [partition = '', offset = ''] = pair.split('-');
      return [Number(partition), Number(offset)] as const;
    }),
  );
}

/**
 * Parses `/api/verdicts`' query string: `from`, `to` (ISO 8601 or epoch ms), `line`, `camera`,
 * `verdict` (`ok` | `defect`), `limit` (1..maxLimit, default 50), `cursor`. Anything else, or any
 * parameter given twice, is a 400 `QUERY_INVALID` naming it.
 */
export function parseVerdictQuery(params: URLSearchParams, maxLimit: number): VerdictQuery {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) throw invalid(`unknown parameter "${name.slice(0, 64)}": use ${[...KNOWN].join(', ')}`);
    if (seen.has(name)) throw invalid(`"${name}" is given twice: give it once`);
    seen.add(name);
  }
  const get = (name: string): string | undefined => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const query: VerdictQuery = { limit: 50 };
  const from = get('from');
  const to = get('to');
  if (from !== undefined) query.fromMs = parseTime('from', from);
  if (to !== undefined) query.toMs = parseTime('to', to);
  if (query.fromMs !== undefined && query.toMs !== undefined && query.fromMs >= query.toMs) throw invalid('from must be before to');
  for (const [name, field] of [
    ['line', 'lineId'],
    ['camera', 'cameraId'],
  ] as const) {
    const value = get(name);
    if (value === undefined) continue;
    if (!ID.test(value)) throw invalid(`${name} must be an id (letters, digits, ".", "_" or "-", at most 128)`);
    query[field] = value;
  }
  const verdict = get('verdict');
  if (verdict !== undefined) {
    if (verdict !== 'ok' && verdict !== 'defect') throw invalid('verdict must be "ok" or "defect"');
    query.verdict = verdict;
  }
  const limit = get('limit');
  if (limit !== undefined) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > maxLimit) throw invalid(`limit must be a whole number from 1 to ${maxLimit}`);
    query.limit = Number(limit);
  }
  const cursor = get('cursor');
  if (cursor !== undefined) query.cursor = decodeCursor(cursor);
  return query;
}
