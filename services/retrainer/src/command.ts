/** Subprocesses the retrainer runs (`loomwatch dataset`, the refit, `loomwatch replay`): no shell, stopped by a signal. */
import { spawn } from 'node:child_process';
import { LoomwatchError } from '@loomwatch/contracts';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; `signal` stops it (SIGTERM). */
export function runCommand(argv: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new LoomwatchError('CONFIG_INVALID', 'an empty command line'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal === undefined ? {} : { signal }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
