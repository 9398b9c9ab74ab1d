/**
 * The cameras' credentials for the HTTP mode: a JSON file of `{line, camera, tokenSha256}` entries,
 * one per camera. A camera presents its token; the gateway keeps only the token's SHA-256 and
 * publishes the camera's frames under the line and camera id of the entry, never under ids the
 * request names.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Id, LoomwatchError, describeIssues } from '@loomwatch/contracts';
import { TokenTable, newToken, tokenDigest } from '@loomwatch/http';
import type { GatewayConfig } from './config.js';

/** Who may publish through the HTTP mode: the holders of the credentials file's tokens, or anyone (`http.auth: none`). */
export function httpCameras(http: Pick<GatewayConfig['http'], 'auth' | 'cameraCredentialsFile'>): TokenTable<Camera> | 'none' {
  if (http.auth === 'none') return 'none';
  if (http.cameraCredentialsFile === undefined) {
    throw new LoomwatchError(
      'CONFIG_INVALID',
      "http mode needs the cameras' credentials: set http.cameraCredentialsFile (or LOOMWATCH_CAMERA_CREDENTIALS_FILE) to a JSON file of {line, camera, tokenSha256} entries (`gateway token --line L --camera C` mints one), or http.auth=none for development only",
    );
  }
  return loadCameraCredentials(http.cameraCredentialsFile);
}

/** Who a token belongs to. */
export interface Camera {
  readonly lineId: string;
  readonly cameraId: string;
}

const CameraCredential = z.strictObject({
  line: Id,
  camera: Id,
  tokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the token: 64 hex digits (`gateway token` prints it)'),
});
export type CameraCredential = z.infer<typeof CameraCredential>;

/**
 * Reads and checks the credentials file: every entry well-formed, no token digest twice, no camera
 * twice. Any problem is one CONFIG_INVALID line naming the file and the entry.
 */
export function loadCameraCredentials(file: string): TokenTable<Camera> {
  const refuse = (problem: string): never => {
    throw new LoomwatchError('CONFIG_INVALID', `camera credentials file ${file}: ${problem}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): set http.cameraCredentialsFile or LOOMWATCH_CAMERA_CREDENTIALS_FILE to the file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    refuse(`is not JSON (${(err as Error).message}): it holds an array of {"line", "camera", "tokenSha256"}`);
  }
  if (!Array.isArray(json)) refuse('is not a JSON array: it holds an array of {"line", "camera", "tokenSha256"}');
  const entries = json as unknown[];
  const cameras = new Map<string, number>();
  const digests = new Map<string, number>();
  const table: [string, Camera][] = [];
  entries.forEach((raw, index) => {
    const entry = CameraCredential.safeParse(raw);
    const name = `entry ${index + 1}${describeEntry(raw)}`;
    if (!entry.success) refuse(`${name}: ${describeIssues(entry.error.issues, '(entry)')}`);
    const { line, camera, tokenSha256 } = entry.data as CameraCredential;
    const key = `${line}/${camera}`;
    const digest = tokenSha256.toLowerCase();
    const sameCamera = cameras.get(key);
    if (sameCamera !== undefined) refuse(`${name}: ${key} is already entry ${sameCamera}; one entry per camera (replace its tokenSha256 to rotate)`);
    const sameToken = digests.get(digest);
    if (sameToken !== undefined) refuse(`${name}: the same tokenSha256 as entry ${sameToken}; every camera needs its own token (\`gateway token\` mints one)`);
    cameras.set(key, index + 1);
    digests.set(digest, index + 1);
    table.push([digest, { lineId: line, cameraId: camera }]);
  });
  return new TokenTable(table);
}

/** ` (line-1/cam-1)` when the bad entry names its camera, so the message points at it. */
function describeEntry(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return '';
  const { line, camera } = raw as Record<string, unknown>;
  return typeof line === 'string' && typeof camera === 'string' ? ` (${line.slice(0, 128)}/${camera.slice(0, 128)})` : '';
}

/** A new credential: the token (for the camera, shown once) and the entry for the credentials file. */
export function mintCameraCredential(camera: Camera): { token: string; entry: CameraCredential } {
  const token = newToken();
  return { token, entry: { line: camera.lineId, camera: camera.cameraId, tokenSha256: tokenDigest(token) } };
}
