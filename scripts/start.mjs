// `npm start` (after the renderer build): the desktop app when the Electron binary is installed,
// otherwise browser mode, saying why and how to get the binary. Arguments go to the app started:
// `npm start -- --port 8765` in browser mode (see main/web/serve.ts --help).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { buildHost, ROOT } from './build-host.mjs';

/** The `electron` package exports the binary's path; it throws when the download never happened. */
function electronBinary() {
  try {
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? { path } : { missing: `${path} does not exist` };
  } catch {
    // The package's index throws when its install script never downloaded the binary.
    return { missing: 'node_modules/electron holds no downloaded binary' };
  }
}

const args = process.argv.slice(2);
const electron = electronBinary();

if ('path' in electron) {
  const { main } = await buildHost();
  const child = spawn(electron.path, [main, ...args], { stdio: 'inherit', cwd: ROOT });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  process.stderr.write(
    `FusionScope: the Electron binary is missing (${electron.missing}).\n` +
      '  Electron downloads its binary when installed; this checkout skipped that (package.json allowScripts).\n' +
      '  With internet access, run `npm run fetch-electron`, then `npm start` opens the desktop app.\n' +
      '  Starting browser mode instead: open the URL below.\n\n',
  );
  // In this process (not a child), so Ctrl-C reaches serve.ts once and it shuts down cleanly.
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(ROOT, 'main', 'web', 'serve.ts')).href);
}
