/** ONNX bytes for the model adapter's tests: an opset re-stamped, a tiny routed graph. */

/** Re-stamps the default-domain opset of an ONNX file whose last field is `opset_import { version }` (as torch writes it). */
export function stampOpset(bytes: Buffer, version: number): void {
  const n = bytes.length;
  if (bytes[n - 4] !== 0x42 || bytes[n - 3] !== 0x02 || bytes[n - 2] !== 0x10 || version > 127) {
    throw new Error('the ONNX file does not end with a one-byte opset_import entry');
  }
  bytes[n - 1] = version;
}

/** Protobuf wire encoding, just enough for `routedTestOnnx`. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const field = (number: number, bytes: Buffer): Buffer => Buffer.concat([Buffer.from([...varint(number * 8 + 2), ...varint(bytes.length)]), bytes]);
const text = (number: number, value: string): Buffer => field(number, Buffer.from(value));
const int = (number: number, value: number): Buffer => Buffer.from([...varint(number * 8), ...varint(value)]);

/** ValueInfoProto of a tensor: elem type (1 float, 7 int64) and dims (a number, or a symbolic name). */
function tensorInfo(name: string, elemType: number, dims: readonly (number | string)[]): Buffer {
  const shape = Buffer.concat(dims.map((d) => field(1, typeof d === 'number' ? int(1, d) : text(2, d))));
  return Buffer.concat([text(1, name), field(2, field(1, Buffer.concat([int(1, elemType), field(2, shape)])))]);
}

/**
 * A tiny ONNX graph with the tile contract and a routing input, for the adapter's tests (no model
 * pipeline needed): `anomaly_map = image + float(bank)`, `image` float32 [N, 1, T, T], `bank` int64
 * [1]. A run's output is its input shifted by the route it was given.
 */
export function routedTestOnnx(tileSize = 256, routeInput = 'bank'): Buffer {
  const cast = Buffer.concat([text(1, routeInput), text(2, 'bank_float'), text(4, 'Cast'), field(5, Buffer.concat([text(1, 'to'), int(3, 1), int(20, 2)]))]);
  const add = Buffer.concat([text(1, 'image'), text(1, 'bank_float'), text(2, 'anomaly_map'), text(4, 'Add')]);
  const graph = Buffer.concat([
    field(1, cast),
    field(1, add),
    text(2, 'routed-test'),
    field(11, tensorInfo('image', 1, ['N', 1, tileSize, tileSize])),
    field(11, tensorInfo(routeInput, 7, [1])),
    field(12, tensorInfo('anomaly_map', 1, ['N', 1, tileSize, tileSize])),
  ]);
  return Buffer.concat([int(1, 8), field(7, graph), field(8, Buffer.concat([text(1, ''), int(2, 13)]))]);
}
