/**
 * `npm run serve`: FusionScope in a browser tab, no Electron (main/web/README.md). Builds nothing
 * itself (the npm script builds the renderer first); prints one line with the URL on stdout and
 * everything else on stderr, so scripts and tests can read the URL.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createBackend } from '../backend/index.ts';
import {
  defaultModelCacheDir,
  isPrecision,
  isProviderRequest,
  PRECISIONS,
  PROVIDERS,
} from '../backend/options.ts';
import { startServer } from './server.ts';

const HELP = `Usage: npm run serve -- [--port N] [--host ADDRESS] [--workspace DIR] [--provider NAME] [--no-demo]
                         [--precision auto|fp32|fp16|bf16] [--renderer DIR]

  --port N          port to listen on (default: a free one)
  --host ADDRESS    address to bind (default 127.0.0.1). Keep the default on a remote GPU machine and
                    tunnel instead:  ssh -N -L 8765:127.0.0.1:8765 gpu-box   (same port on both ends),
                    start with --port 8765 there, then open the printed URL on this machine.
  --workspace DIR   workspace folder, its SQLite file keeps every run (default fusionscope-workspace)
  --provider NAME   execution provider: ${PROVIDERS.join(', ')} (default auto)
  --precision P     how opened models store their weights: ${PRECISIONS.join(', ')} (default auto: as
                    the checkpoint does). Built models are cached in FUSIONSCOPE_MODEL_CACHE
                    (default ${defaultModelCacheDir()})
  --no-demo         do not open the embedded demo model and its test split at start
  --renderer DIR    the built renderer to serve (default renderer/dist, made by npm run build:renderer)

The access token is random per start; set FUSIONSCOPE_TOKEN (16+ characters) to keep the URL stable.`;

const RENDERER_DIST = fileURLToPath(new URL('../../renderer/dist', import.meta.url));

function fail(message: string): never {
  process.stderr.write(`fusionscope serve: ${message}\n`);
  process.exit(2);
}

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        workspace: { type: 'string', default: 'fusionscope-workspace' },
        provider: { type: 'string', default: 'auto' },
        precision: { type: 'string', default: 'auto' },
        'no-demo': { type: 'boolean', default: false },
        renderer: { type: 'string', default: RENDERER_DIST },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    return values;
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${HELP}`);
  }
}

async function main(): Promise<void> {
  const flags = parseFlags();
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535)
    fail(`--port: "${flags.port}" is not a port number (0-65535)`);
  const provider = flags.provider;
  if (!isProviderRequest(provider)) fail(`--provider: "${provider}" is not one of ${PROVIDERS.join(', ')}`);
  const precision = flags.precision;
  if (!isPrecision(precision)) fail(`--precision: "${precision}" is not one of ${PRECISIONS.join(', ')}`);
  const staticDir = resolve(flags.renderer);
  if (!existsSync(resolve(staticDir, 'index.html'))) {
    fail(`the renderer is not built (${staticDir} has no index.html): run \`npm run build:renderer\` first`);
  }
  const token = process.env.FUSIONSCOPE_TOKEN || undefined;
  if (token !== undefined && token.length < 16) fail('FUSIONSCOPE_TOKEN must have at least 16 characters');

  const workspace = resolve(flags.workspace);
  const backend = await createBackend({
    workspace,
    mode: 'browser',
    provider,
    precision,
    preloadDemo: !flags['no-demo'],
  });
  const server = await startServer({ backend, staticDir, port, host: flags.host, token }).catch(
    async (error: unknown) => {
      await backend.close();
      return fail(`cannot listen on ${flags.host}:${port}: ${(error as Error).message}`);
    },
  );

  process.stdout.write(`FusionScope (browser mode): ${server.url}\n`);
  process.stderr.write(`workspace: ${workspace}\nCtrl-C stops the server.\n`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(flags.host)) {
    process.stderr.write(
      `warning: listening on ${flags.host}: anyone on that network who learns the URL can use FusionScope, ` +
        'and traffic is not encrypted; an SSH tunnel to 127.0.0.1 is safer (--help).\n',
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write('stopping (running jobs stay resumable)…\n');
    // Whatever hangs past this is reported rather than keeping the terminal forever.
    setTimeout(() => fail('shutdown took longer than 15 s'), 15_000).unref();
    server
      .close()
      .then(() => backend.close())
      .then(
        () => process.exit(0),
        (error: unknown) => fail(`shutdown failed: ${(error as Error).message}`),
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
