/**
 * The frames a loop streams: a list of a split file (`models/splits/*.json`: entries with `file`,
 * `fabric`, `roll`, `label`), the normal ones only, each camera one roll of the loom (its fabric
 * the roll's, as the AITEX names say), and posting one through the gateway's `POST /v1/frames` as
 * that camera does, with its own token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LoomwatchError } from '@loomwatch/contracts';

/** A normal AITEX frame to stream, and the camera that sends it. */
export interface StreamFrame {
  path: string;
  /** `NNNN_DDD_FF` */
  name: string;
  fabric: string;
  roll: string;
  lineId: string;
  cameraId: string;
}

interface SplitEntry {
  file: string;
  label: number;
  fabric: string;
  roll: string | null;
}

/** The camera of a roll: one line, one camera per roll (`cam-<roll>`, the roll id is an Id already). */
export function cameraOfRoll(roll: string): { lineId: string; cameraId: string } {
  return { lineId: 'loop-line', cameraId: `cam-${roll}` };
}

/**
 * The normal frames of `part` (e.g. `stream`) in the split file, on `fabrics` when given, at most
 * `perFabric` of each fabric, in the split's order.
 */
export function framesOfSplit(splitFile: string, part: string, aitexDir: string, options: { fabrics?: readonly string[]; perFabric?: number } = {}): StreamFrame[] {
  if (!existsSync(splitFile)) throw new LoomwatchError('CONFIG_INVALID', `no split file ${splitFile}: pass --split with a models/splits/*.json file`);
  const split = JSON.parse(readFileSync(splitFile, 'utf8')) as Record<string, unknown>;
  const entries = split[part];
  if (!Array.isArray(entries)) {
    const lists = Object.entries(split).filter(([, value]) => Array.isArray(value)).map(([key]) => key);
    throw new LoomwatchError('CONFIG_INVALID', `${splitFile} has no list "${part}" (it has ${lists.join(', ') || 'none'}): pass --part with one of them`);
  }
  const taken = new Map<string, number>();
  const frames: StreamFrame[] = [];
  for (const entry of entries as SplitEntry[]) {
    if (entry.label !== 0 || entry.roll === null) continue;
    if (options.fabrics !== undefined && options.fabrics.length > 0 && !options.fabrics.includes(entry.fabric)) continue;
    const count = taken.get(entry.fabric) ?? 0;
    if (options.perFabric !== undefined && count >= options.perFabric) continue;
    taken.set(entry.fabric, count + 1);
    frames.push(normalFrame(aitexDir, entry.file, entry.fabric, entry.roll));
  }
  if (frames.length === 0) throw new LoomwatchError('CONFIG_INVALID', `no normal frames in "${part}" of ${splitFile}${options.fabrics === undefined ? '' : ` on fabric ${options.fabrics.join(', ')}`}: nothing to stream`);
  return frames;
}

/** A normal frame by its path under `<aitex>/normal` (`<roll>/<name>.png`). */
export function normalFrame(aitexDir: string, file: string, fabric: string, roll: string): StreamFrame {
  const path = join(aitexDir, 'normal', file);
  if (!existsSync(path)) throw new LoomwatchError('IMAGE_NOT_FOUND', `no AITEX frame ${path}: set AITEX_DIR to the data set (its normal/ and defect/ folders)`);
  return { path, name: basename(file, '.png'), fabric, roll, ...cameraOfRoll(roll) };
}

/** Posts a frame through the gateway as its camera; resolves with the frame id the gateway gave it. */
export async function postFrame(gatewayUrl: string, token: string, frame: StreamFrame, seq: number): Promise<string> {
  const query = new URLSearchParams({ seq: String(seq), fabricCode: frame.fabric, rollId: frame.roll });
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${gatewayUrl}/v1/frames?${query.toString()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' },
      body: readFileSync(frame.path),
    });
    const body = (await response.json()) as { frameId?: string; code?: string; detail?: string };
    if (response.status === 201 && body.frameId !== undefined) return body.frameId;
    // 503: S3 or Kafka were down after the gateway's own retries; the same request again is the same frame.
    if (response.status === 503 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      continue;
    }
    throw new LoomwatchError('INTERNAL', `the gateway refused ${frame.name} (${response.status} ${body.code ?? ''}: ${body.detail ?? ''})`);
  }
}
