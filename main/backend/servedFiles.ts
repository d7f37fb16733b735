/**
 * Which files the renderer may load (images, exported figures): only regular files under a folder the
 * app serves. Both the request and the roots are resolved with realpath, so a symlink inside a root that
 * points outside it is refused like `..` would be.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

import { FusionError } from '../common/errors.ts';

function forbidden(path: string, why: string): FusionError {
  return new FusionError('FORBIDDEN', `will not serve ${JSON.stringify(path.slice(0, 300))}: ${why}`);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const settled = await Promise.allSettled(roots.map((root) => realpath(root)));
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

export async function resolveServedFile(path: string, roots: readonly string[]): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw forbidden(String(path), 'not a path');
  if (path.includes('\0')) throw forbidden(path, 'the path holds a NUL byte');
  if (!isAbsolute(path)) throw forbidden(path, 'the path must be absolute');
  if (path.split(/[\\/]/).includes('..')) throw forbidden(path, 'the path may not contain ".."');
  const allowed = await realRoots(roots);
  // Outside every root as written: refused before touching the file (no existence probing).
  const lexical = [...roots, ...allowed];
  if (!lexical.some((root) => inside(root, path))) throw forbidden(path, 'it is outside the served folders');
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new FusionError('NOT_FOUND', `no file ${JSON.stringify(path.slice(0, 300))}`);
  }
  if (!allowed.some((root) => inside(root, real))) {
    throw forbidden(path, 'it resolves (through a symbolic link) outside the served folders');
  }
  const info = await stat(real);
  if (!info.isFile()) throw forbidden(path, 'not a regular file');
  return real;
}
