import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoomwatchError, type ModelCard } from '@loomwatch/contracts';

/**
 * Opsets of the default ONNX domain this onnxruntime (1.30) runs: every runtime supports 7 and
 * up; 23 is the newest we rely on (the exporter pins 17). Newer stamps are refused up front
 * rather than failing halfway through graph construction.
 */
export const SUPPORTED_OPSETS = { min: 7, max: 23 } as const;

function readVarint(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[pos + i];
    if (byte === undefined) throw new RangeError('truncated varint');
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos + i + 1];
    scale *= 128;
  }
  throw new RangeError('varint too long');
}

/**
 * The default-domain opset stamped in an ONNX `ModelProto` (field 8 `opset_import`, entries
 * with empty or `ai.onnx` domain), read by walking the top-level protobuf fields and skipping
 * the graph by its length. Undefined when the file stamps none or is not a protobuf.
 */
export function onnxOpset(bytes: Uint8Array): number | undefined {
  try {
    let pos = 0;
    let opset: number | undefined;
    while (pos < bytes.length) {
      const [key, afterKey] = readVarint(bytes, pos);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (wire === 0) {
        pos = readVarint(bytes, afterKey)[1];
      } else if (wire === 1) {
        pos = afterKey + 8;
      } else if (wire === 5) {
        pos = afterKey + 4;
      } else if (wire === 2) {
        const [length, start] = readVarint(bytes, afterKey);
        const end = start + length;
        if (end > bytes.length) return undefined;
        if (field === 8) {
          const entry = readOpsetEntry(bytes.subarray(start, end));
          if (entry.domain === '' || entry.domain === 'ai.onnx') opset = entry.version;
        }
        pos = end;
      } else {
        return undefined;
      }
    }
    return opset;
  } catch {
    return undefined;
  }
}

function readOpsetEntry(bytes: Uint8Array): { domain: string; version: number | undefined } {
  let pos = 0;
  let domain = '';
  let version: number | undefined;
  while (pos < bytes.length) {
    const [key, afterKey] = readVarint(bytes, pos);
    const field = Math.floor(key / 8);
    if (key % 8 === 2) {
      const [length, start] = readVarint(bytes, afterKey);
      if (field === 1) domain = Buffer.from(bytes.subarray(start, start + length)).toString('utf8');
      pos = start + length;
    } else {
      const [value, next] = readVarint(bytes, afterKey);
      if (field === 2) version = value;
      pos = next;
    }
  }
  return { domain, version };
}

/**
 * Reads `model.onnx` once and checks it against the card: size, sha256, and the opset (the
 * card's and the file's must agree and be supported). The bytes that were hashed are the
 * bytes the session is built from.
 */
export async function readVerifiedOnnx(dir: string, card: ModelCard): Promise<Buffer> {
  const path = join(dir, card.onnx.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new LoomwatchError('MODEL_NOT_FOUND', `cannot read ${path}: the model version is incomplete — re-export or re-download it`, { cause: err });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== card.onnx.bytes || sha256 !== card.onnx.sha256) {
    throw new LoomwatchError(
      'MODEL_CHECKSUM_MISMATCH',
      `${path} is ${bytes.length} bytes with sha256 ${sha256}, but the card says ${card.onnx.bytes} bytes with sha256 ${card.onnx.sha256}: the file is corrupt or was replaced — re-export or re-download this version`,
      { details: { path, sha256, expected: card.onnx.sha256 } },
    );
  }
  const stamped = onnxOpset(bytes);
  if (stamped !== undefined && stamped !== card.onnx.opset) {
    throw new LoomwatchError('MODEL_CARD_INVALID', `the card says opset ${card.onnx.opset} but ${path} is stamped with opset ${stamped}: re-export the model`);
  }
  const opset = stamped ?? card.onnx.opset;
  if (opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max) {
    throw new LoomwatchError(
      'MODEL_OPSET_UNSUPPORTED',
      `${path} uses ONNX opset ${opset}; this onnxruntime runs opsets ${SUPPORTED_OPSETS.min}–${SUPPORTED_OPSETS.max}: re-export with opset ≤ ${SUPPORTED_OPSETS.max} (torch.onnx.export(..., opset_version=17))`,
    );
  }
  return bytes;
}
