/**
 * Starts the development OpenID provider: `node deploy/local/oidc/src/main.ts [--port N] [--state DIR]`
 * (port: `--port`, else `OIDC_PORT`, else 19080; always on 127.0.0.1). deploy/local/infra.sh runs it.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { CLIENT_ID, DEFAULT_PORT, DEMO_USERS, HOST } from './accounts.ts';
import { signingKey } from './keys.ts';
import { createDevOidc } from './provider.ts';

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} oidc: ${line}\n`);
};

const { values } = parseArgs({ options: { port: { type: 'string' }, state: { type: 'string' } } });
const portText = values.port ?? process.env['OIDC_PORT'] ?? String(DEFAULT_PORT);
const port = Number(portText);
if (!/^[0-9]+$/.test(portText) || port < 1 || port > 65535) {
  log(`error: port ${JSON.stringify(portText)} is not a port number: set OIDC_PORT or --port to 1-65535`);
  process.exit(2);
}

const issuer = `http://${HOST}:${port}`;
const { handler } = createDevOidc({ issuer, signingKey: signingKey(values.state), log });
const server = createServer(handler);
server.on('error', (err) => {
  log(`error: cannot listen on ${HOST}:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, HOST, () => {
  log(`issuer ${issuer} (client ${CLIENT_ID}; users ${DEMO_USERS.map((u) => u.username).join(', ')}) — development only`);
});

let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(1);
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
