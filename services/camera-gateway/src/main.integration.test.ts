import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameEvent, decodeMessage } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { REPO_ROOT, aitexFrames, builtEntry, infraEnv } from '@loomwatch/testkit';

const kafka = useTestKafka();
const s3 = useTestS3();
const MAIN = builtEntry('services/camera-gateway/dist/main.js');
const running: ChildProcess[] = [];

interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

/** Starts `gateway <args>` and collects its JSON log lines. */
function gateway(args: string[], env: Record<string, string> = {}): { child: ChildProcess; lines: LogLine[]; stderr: () => string; waitFor(msg: string): Promise<LogLine>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...infraEnv(kafka.infra), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const lines: LogLine[] = [];
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const waiters: { msg: string; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (msg: string): Promise<LogLine> => {
    const seen = lines.find((line) => line.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((resolve) => waiters.push({ msg, resolve })),
      exited.then((code) => Promise.reject(new Error(`gateway exited (${code}) before logging "${msg}": ${JSON.stringify(lines.slice(-3))}`))),
    ]);
  };
  return { child, lines, stderr: () => errors, waitFor, exited };
}

/** `gateway token --line … --camera …`, as an operator runs it: the token (line 1) and the file entry (line 2). */
function mintToken(line: string, camera: string): { token: string; entry: string } {
  const [token = '', entry = ''] = execFileSync(process.execPath, [MAIN, 'token', '--line', line, '--camera', camera], { encoding: 'utf8' }).trim().split('\n');
  return { token, entry };
}

/** A credentials file holding the given `gateway token` entries. */
function credentialsFile(entries: readonly string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-main-')), 'cameras.json');
  writeFileSync(file, `[\n${entries.join(',\n')}\n]\n`);
  return file;
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('gateway command', () => {
  it('prints its config with the secret redacted, serves health, readiness and a frames counter, and drains on SIGTERM', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const camera = mintToken('line-1', 'cam-1');
    expect(camera.token).toMatch(/^lw_/);
    const gw = gateway(['http', '--set', `gateway.topic=${topic}`, '--set', `gateway.bucket=${bucket}`, '--set', 'http.port=0', '--set', 'ops.port=0'], {
      LOOMWATCH_CAMERA_CREDENTIALS_FILE: credentialsFile([camera.entry]),
    });
    const started = await gw.waitFor('gateway started');
    const accepting = await gw.waitFor('accepting POST /v1/frames');
    const printed = JSON.stringify(gw.lines.find((line) => line.msg === 'effective configuration'));
    expect(printed).toContain('"secretAccessKey":"[redacted]"');
    expect(printed).not.toContain(s3.infra.s3.secretAccessKey);

    const ops = `http://127.0.0.1:${String(started['opsPort'])}`;
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const png = readFileSync(aitexFrames()[0]?.path ?? '');
    const frames = `http://127.0.0.1:${String(accepting['port'])}/v1/frames`;
    expect((await fetch(`${frames}?seq=1`, { method: 'POST', body: png })).status).toBe(401);
    const posted = await fetch(`${frames}?seq=1`, { method: 'POST', body: png, headers: { authorization: `Bearer ${camera.token}` } });
    expect(posted.status).toBe(201);
    expect(await (await fetch(`${ops}/metrics`)).text()).toMatch(/loomwatch_gateway_frames_published_total\{[^}]*line="line-1"[^}]*\} 1/);

    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(gw.lines.map((line) => line.msg)).toContain('gateway stopped');
    const events = (await kafka.readCommitted(topic, 1)).map((m) => decodeMessage(FrameEvent, m.value));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ lineId: 'line-1', cameraId: 'cam-1' });
    expect(JSON.stringify(gw.lines)).not.toContain(camera.token);
  });

  it("refuses http mode without the cameras' credentials or with a bad file: exit 2, one line naming the setting or the entry", async () => {
    const none = gateway(['http', '--set', 'ops.port=0']);
    expect(await none.exited).toBe(2);
    expect(none.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^pnpm gateway: http mode needs the cameras' credentials: set http\.cameraCredentialsFile \(or LOOMWATCH_CAMERA_CREDENTIALS_FILE\).*http\.auth=none/)]);
    const camera = mintToken('line-1', 'cam-1');
    const file = credentialsFile([camera.entry, camera.entry.replace('cam-1', 'cam-2')]);
    const duplicate = gateway(['http', '--set', 'ops.port=0', '--set', `http.cameraCredentialsFile=${file}`]);
    expect(await duplicate.exited).toBe(2);
    expect(duplicate.stderr().trim().split('\n')).toEqual([`pnpm gateway: camera credentials file ${file}: entry 2 (line-1/cam-2): the same tokenSha256 as entry 1; every camera needs its own token (\`gateway token\` mints one) (pnpm gateway --help shows the options and an example)`]);
    const mint = spawn(process.execPath, [MAIN, 'token', '--line', 'line 1', '--camera', 'cam-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    mint.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    expect(await new Promise((resolve) => mint.once('exit', resolve))).toBe(2);
    expect(errors.trim().split('\n')).toEqual([expect.stringMatching(/^pnpm gateway token: --line "line 1": use letters, digits/)]);
  });

  it('replays a frame count in simulate mode and exits by itself', async () => {
    const topic = await kafka.topic({ partitions: 2, prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const gw = gateway(['simulate', '--set', `gateway.topic=${topic}`, '--set', `gateway.bucket=${bucket}`, '--set', 'ops.port=0', '--set', 'simulator.lines=1', '--set', 'simulator.camerasPerLine=2', '--set', 'simulator.framesPerCamera=2', '--set', 'simulator.fps=0']);
    expect(await gw.exited).toBe(0);
    expect(await kafka.readCommitted(topic, 4)).toHaveLength(4);
  });

  it('refuses to start when its topic does not exist: one fatal line naming loomwatch topics apply, exit 1, and the topic is not created', async () => {
    const missing = `frames-missing-${Date.now()}`;
    const gw = gateway(['simulate', '--set', `gateway.topic=${missing}`, '--set', `gateway.bucket=${await s3.bucket()}`, '--set', 'ops.port=0', '--set', 'simulator.framesPerCamera=1']);
    expect(await gw.exited).toBe(1);
    const fatal = gw.lines.filter((line) => line['level'] === 60);
    expect(fatal).toEqual([{ ...fatal[0], code: 'CONFIG_INVALID', msg: expect.stringMatching(new RegExp(`^gateway failed to start: topic ${missing} does not exist .*loomwatch topics apply`)) as unknown }]);
    expect(await kafka.client.topics.list()).not.toContain(missing);
  }, 60_000);

  it('refuses hot-folder mode without a folder and an unknown mode: exit 2, one line that names what to do', async () => {
    const missing = gateway(['hot-folder', '--set', 'ops.port=0']);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^pnpm gateway: hot-folder mode needs hotFolder\.dir.*--set hotFolder\.dir=/)]);
    const unknown = gateway(['watch']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^pnpm gateway: .*'watch'.*simulate, hot-folder, http.*--help/)]);
  });

  it('exits at once on a second signal while the first is still draining', async () => {
    const topic = await kafka.topic({ prefix: 'frames' });
    const bucket = await s3.bucket('frames');
    const gw = gateway(['http', '--set', `gateway.topic=${topic}`, '--set', `gateway.bucket=${bucket}`, '--set', 'http.port=0', '--set', 'ops.port=0', '--set', 'http.auth=none']);
    const accepting = await gw.waitFor('accepting POST /v1/frames');
    const started = await gw.waitFor('gateway started');
    expect(gw.lines.find((line) => line.level === 40)?.msg).toMatch(/^http\.auth is none: anyone who reaches the port publishes frames as any line and camera/);
    // A client that stalls halfway through its body keeps the drain waiting.
    const socket = connect(Number(accepting['port']), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/frames?lineId=l&cameraId=c&seq=1 HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n0123456789');
    const metrics = `http://127.0.0.1:${String(started['opsPort'])}/metrics`;
    const inFlight = async (): Promise<boolean> => /loomwatch_gateway_http_requests_in_flight\{[^}]*\} 1/.test(await (await fetch(metrics)).text());
    await expect.poll(inFlight, { timeout: 10_000 }).toBe(true);
    gw.child.kill('SIGTERM');
    await gw.waitFor('draining');
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(130);
    expect(gw.lines.map((line) => line.msg)).not.toContain('gateway stopped');
    socket.destroy();
  });
});

