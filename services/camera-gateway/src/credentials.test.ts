import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenDigest } from '@loomwatch/http';
import { httpCameras, loadCameraCredentials, mintCameraCredential } from './credentials.js';

const dir = mkdtempSync(join(tmpdir(), 'gateway-credentials-'));
let files = 0;
function credentialsFile(content: unknown): string {
  const file = join(dir, `cameras-${files++}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('camera credentials', () => {
  it("mints a token whose digest is the entry's, and finds each camera by its token only", () => {
    const a = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-1' });
    const b = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-2' });
    expect(a.entry).toEqual({ line: 'line-1', camera: 'cam-1', tokenSha256: tokenDigest(a.token) });
    expect(a.token).not.toBe(b.token);
    const cameras = loadCameraCredentials(credentialsFile([a.entry, { ...b.entry, tokenSha256: b.entry.tokenSha256.toUpperCase() }]));
    expect(cameras.size).toBe(2);
    expect(cameras.holderOf(`Bearer ${a.token}`)).toEqual({ lineId: 'line-1', cameraId: 'cam-1' });
    expect(cameras.holderOf(`Bearer ${b.token}`)).toEqual({ lineId: 'line-1', cameraId: 'cam-2' });
    expect(cameras.holderOf(`Bearer ${a.entry.tokenSha256}`)).toBeUndefined(); // the digest is not a token
    expect(cameras.holderOf(undefined)).toBeUndefined();
  });

  it('refuses a bad file with one line naming the file and the entry', () => {
    const a = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-1' });
    const b = mintCameraCredential({ lineId: 'line-1', cameraId: 'cam-2' });
    const cases: [unknown, RegExp][] = [
      ['{"line": ', /is not JSON/],
      [{ line: 'line-1' }, /is not a JSON array/],
      [[a.entry, { ...b.entry, tokenSha256: 'abc' }], /entry 2 \(line-1\/cam-2\): tokenSha256: the SHA-256 of the token: 64 hex digits/],
      [[a.entry, { ...b.entry, camera: 'cam:2' }], /entry 2 \(line-1\/cam:2\): camera: use letters, digits/],
      [[a.entry, { ...b.entry, token: b.token }], /entry 2 \(line-1\/cam-2\): \(entry\): Unrecognized key: "token"/],
      [[a.entry, { ...b.entry, camera: 'cam-1' }], /entry 2 \(line-1\/cam-1\): line-1\/cam-1 is already entry 1; one entry per camera/],
      [[a.entry, { ...b.entry, tokenSha256: a.entry.tokenSha256.toUpperCase() }], /entry 2 \(line-1\/cam-2\): the same tokenSha256 as entry 1; every camera needs its own token/],
      [[null], /entry 1: \(entry\)/],
    ];
    for (const [content, message] of cases) {
      const file = credentialsFile(content);
      let thrown: unknown;
      try {
        loadCameraCredentials(file);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(content)).toMatchObject({ code: 'CONFIG_INVALID' });
      const text = (thrown as Error).message;
      expect(text, JSON.stringify(content)).toMatch(message);
      expect(text.startsWith(`camera credentials file ${file}: `)).toBe(true);
      expect(text).not.toContain('\n');
      expect(text).not.toContain(b.token);
    }
    expect(() => loadCameraCredentials(join(dir, 'missing.json'))).toThrow(/camera credentials file .*missing\.json: cannot be read \(ENOENT\)/);
  });

  it('refuses token auth without a credentials file, naming both settings, and lets anyone in only with auth none', () => {
    expect(() => httpCameras({ auth: 'token' })).toThrow(/http\.cameraCredentialsFile \(or LOOMWATCH_CAMERA_CREDENTIALS_FILE\).*http\.auth=none/);
    expect(httpCameras({ auth: 'none', cameraCredentialsFile: '/nowhere.json' })).toBe('none');
    const a = mintCameraCredential({ lineId: 'l', cameraId: 'c' });
    const cameras = httpCameras({ auth: 'token', cameraCredentialsFile: credentialsFile([a.entry]) });
    expect(cameras === 'none' ? undefined : cameras.holderOf(`Bearer ${a.token}`)).toEqual({ lineId: 'l', cameraId: 'c' });
  });
});
