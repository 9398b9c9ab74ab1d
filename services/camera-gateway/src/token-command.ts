/**
 * `gateway token --line L --camera C`: mints a camera's credential. The token goes to stdout once
 * (the camera sends it as `Authorization: Bearer <token>`); the entry for the credentials file
 * (`http.cameraCredentialsFile`) follows on the next line. Nothing is stored: only the token's
 * digest goes into the file, and the token itself cannot be shown again.
 */
import { commandName, exitWithUsageError, newCommand, parseOrExit } from '@loomwatch/config';
import { Id } from '@loomwatch/contracts';
import { mintCameraCredential } from './credentials.js';

/** Parses `argv` (after `token`), prints the token and the entry; exits 2 (one line) on bad usage. */
export function runTokenCommand(argv: readonly string[]): void {
  const name = `${commandName('pnpm gateway')} token`;
  const command = newCommand({
    name,
    summary: "Mints a camera's credential for the HTTP mode: prints the token once (give it to the camera), then the JSON entry to add to the credentials file.",
    examples: ['loomwatch gateway token --line line-1 --camera cam-1'],
    notes: [
      'stdout: line 1 the token (the camera sends Authorization: Bearer <token>), line 2 the entry {"line", "camera", "tokenSha256"} for the array in http.cameraCredentialsFile.',
      'To rotate a camera\'s token, replace its entry\'s tokenSha256 and restart the gateway. Reference: services/camera-gateway/README.md.',
    ],
  })
    .requiredOption('--line <id>', 'the line the camera is on')
    .requiredOption('--camera <id>', 'the camera');
  parseOrExit(command, argv);
  const { line, camera } = command.opts<{ line: string; camera: string }>();
  for (const [option, value] of [['--line', line], ['--camera', camera]] as const) {
    const id = Id.safeParse(value);
    if (!id.success) exitWithUsageError(name, `${option} ${JSON.stringify(value)}: ${id.error.issues[0]?.message ?? 'not an id'}`);
  }
  const { token, entry } = mintCameraCredential({ lineId: line, cameraId: camera });
  process.stdout.write(`${token}\n${JSON.stringify(entry)}\n`);
}
