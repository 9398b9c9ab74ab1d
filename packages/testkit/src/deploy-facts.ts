/**
 * What the deployment files (deploy/docker, docker-compose.yml, deploy/k8s) must agree with: the
 * long-running services (a `services/<dir>` with `src/main.ts`), the ops port each one's config
 * defaults to, and the rules every service image follows. What `docker-compose.test.ts` and
 * `k8s-manifests.test.ts` hold those files to.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface DeployedService {
  /** The directory under services/, also the image's and the Deployment's name. */
  name: string;
  /** `/healthz`, `/readyz`, `/metrics`: the default of the service's `ops.port` (its `opsConfig(port)`). */
  opsPort: number;
}

/** Every `services/<dir>` with a `src/main.ts`, with the ops port its config.ts defaults to. */
export function deployedServices(repoRoot: string): DeployedService[] {
  const servicesDir = join(repoRoot, 'services');
  return readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(servicesDir, entry.name, 'src/main.ts')))
    .map((entry) => {
      const config = readFileSync(join(servicesDir, entry.name, 'src/config.ts'), 'utf8');
      const match = /\bopsConfig\((\d+)\)/.exec(config);
      if (match?.[1] === undefined) throw new Error(`services/${entry.name}/src/config.ts has no opsConfig(<port>)`);
      return { name: entry.name, opsPort: Number(match[1]) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface DockerInstruction {
  /** Upper-case, e.g. `FROM`. */
  keyword: string;
  args: string;
}

/** A Dockerfile's instructions, continuation lines joined, comments and parser directives left out. */
export function dockerInstructions(text: string): DockerInstruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current !== '') logical.push(current);
  return logical.map((line) => {
    const space = line.search(/\s/);
    return space < 0 ? { keyword: line.toUpperCase(), args: '' } : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() };
  });
}

/** A JSON-form (exec form) argument list, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every way a service's Dockerfile breaks the image rules, one sentence each: multi-stage with a
 * pinned base image, the service's production dependencies only (deploy/docker/prune.sh), a
 * numeric non-root user in the runtime stage, its ops port exposed and a HEALTHCHECK on its
 * `/healthz`, and the process started as `node services/<name>/dist/main.js` in exec form.
 */
export function dockerfileProblems(text: string, service: DeployedService): string[] {
  const problems: string[] = [];
  const instructions = dockerInstructions(text);
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  if (stages.length < 2) problems.push('is not multi-stage: the runtime stage must not hold the build toolchain and dev dependencies');
  const args = new Map(instructions.filter((i) => i.keyword === 'ARG').map((i) => [i.args.split('=')[0] ?? '', i.args.split('=')[1] ?? '']));
  for (const stage of stages) {
    const image = stage.args.split(/\s+/)[0] ?? '';
    const resolved = image.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? image);
    if (!/^[\w./-]+:[\w.-]*\d+\.\d+\.\d+[\w.-]*$/.test(resolved)) problems.push(`FROM ${image} is not pinned to an exact version`);
  }
  const lastFrom = instructions.lastIndexOf(stages.at(-1) ?? { keyword: '', args: '' });
  const runtime = instructions.slice(lastFrom + 1);
  if (!instructions.some((i) => i.keyword === 'RUN' && i.args.includes(`prune.sh @loomwatch/${service.name} `))) {
    problems.push(`does not prune to @loomwatch/${service.name}'s production dependencies (deploy/docker/prune.sh)`);
  }
  const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user === undefined || !/^[1-9]\d*(:\d+)?$/.test(user)) {
    problems.push(`runs as ${user ?? 'root (no USER)'}: the runtime stage needs a numeric non-root USER (Kubernetes checks runAsNonRoot by number)`);
  }
  const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  if (!exposed.includes(String(service.opsPort))) problems.push(`does not EXPOSE its ops port ${service.opsPort}`);
  const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
  if (!healthcheck.includes(`127.0.0.1:${service.opsPort}/healthz`)) problems.push(`has no HEALTHCHECK on 127.0.0.1:${service.opsPort}/healthz`);
  const start = runtime
    .filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD')
    .map((i) => ({ keyword: i.keyword, argv: execForm(i.args) }));
  const entrypoint = start.filter((s) => s.keyword === 'ENTRYPOINT').at(-1);
  const argv = entrypoint !== undefined ? entrypoint.argv : start.filter((s) => s.keyword === 'CMD').at(-1)?.argv;
  const main = `services/${service.name}/dist/main.js`;
  if (argv?.[0] !== 'node' || argv[1] !== main) problems.push(`does not start \`node ${main}\` in exec form (signals must reach node)`);
  return problems;
}
