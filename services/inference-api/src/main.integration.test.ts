/**
 * The API as deployed (`node dist/main.js`): it refuses to start open by omission, says so when it
 * is started open on purpose, and never logs its token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newToken } from '@loomwatch/http';
import { aitexFrames, builtEntry, processExited, REPO_ROOT } from '@loomwatch/testkit';

const ENTRY = 'services/inference-api/dist/main.js';
const ARGS = ['--set', 'api.port=0', '--set', 'ops.port=0'];
const MODEL = 'draem-random@0.0.1';
/** The environment of the test run without any API token or config the developer may have set. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOOMWATCH_API')));

interface Started {
  port: number;
  /** Every stdout line so far (pino JSON). */
  lines: string[];
  stop(): Promise<{ stdout: string; stderr: string }>;
}

/** Starts the API and waits for its "listening" record. */
async function startApi(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [builtEntry(ENTRY), ...ARGS, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the API exited with ${code} before listening: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'inference API listening' && record.port !== undefined) resolve(record.port);
    });
  });
  return {
    port,
    lines,
    async stop() {
      child.kill('SIGTERM');
      await processExited(child);
      return { stdout: lines.join('\n'), stderr };
    },
  };
}

describe('pnpm api', () => {
  it('refuses to start with auth on and no token: one line on stderr naming both settings, exit 1, nothing logged', () => {
    const result = spawnSync(process.execPath, [builtEntry(ENTRY), ...ARGS], { cwd: REPO_ROOT, env: { ...cleanEnv(), LOOMWATCH_MODEL: MODEL }, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pnpm api: CONFIG_INVALID: api\.auth is "token" but no token is configured: set LOOMWATCH_API_TOKEN .* or api\.tokenDigests /);
    expect(result.stdout).toBe('');
  });

  it('starts with LOOMWATCH_API_TOKEN, answers its holder, and logs the token nowhere', async () => {
    const token = newToken();
    const api = await startApi({ ...cleanEnv(), LOOMWATCH_MODEL: MODEL, LOOMWATCH_API_TOKEN: token });
    let output = { stdout: '', stderr: '' };
    try {
      const frame = aitexFrames()[0];
      if (frame === undefined) throw new Error('no AITEX frames: set AITEX_DIR');
      const post = (authorization: string) =>
        fetch(`http://127.0.0.1:${api.port}/v1/infer?model=${encodeURIComponent(`${token}`)}`, { method: 'POST', headers: { authorization, 'content-type': 'image/png' }, body: readFileSync(frame.path) });
      // The token in a query and in a wrong header: refused, and neither reaches the log.
      expect((await post(`Bearer ${token}`)).status).toBe(400);
      expect((await post(`Bearer ${token}x`)).status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${api.port}/v1/infer`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' }, body: readFileSync(frame.path) });
      expect(ok.status).toBe(200);
    } finally {
      output = await api.stop();
    }
    expect(output.stdout).toContain('"msg":"effective configuration"');
    expect(output.stdout).toContain('"auth":"token"');
    expect(output.stdout + output.stderr).not.toContain(token);
  });

  it('starts open with api.auth=none only when told, and warns that it is', async () => {
    const api = await startApi({ ...cleanEnv(), LOOMWATCH_MODEL: MODEL }, ['--set', 'api.auth=none']);
    const { stdout } = await api.stop();
    const warnings = stdout
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((record) => record.level === 40);
    expect(warnings.map((record) => record.msg)).toEqual([expect.stringMatching(/^api\.auth is none: anyone who reaches the API may run it/)]);
  });
});
