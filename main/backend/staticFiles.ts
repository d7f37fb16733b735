/**
 * Static files: the built renderer, resolved so that no request path can leave its folder (`..`,
 * encoded separators, NUL bytes and symlinks pointing outside are all refused), with the content
 * types the renderer and its images need. Shared by the browser-mode server and the desktop shell's
 * app scheme.
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * Opens a path that resolveStaticFile or resolveServedFile returned once, proving the handle is the
 * file that path names (engine/files/regularFile.ts), so a link swapped in after the check is refused.
 */
export { openResolvedRegularFile } from '../engine/files/regularFile.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The image content type of `path`, or undefined when it is not an image FusionScope shows. */
export function imageContentType(path: string): string | undefined {
  const type = contentType(path);
  return type.startsWith('image/') && type !== 'image/x-icon' ? type : undefined;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of the regular file a URL path names under `root` ("/" is index.html), or undefined
 * when there is none or it would leave `root`. Directories are never listed.
 */
export async function resolveStaticFile(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const rootReal = await realpath(root).catch(() => undefined);
  if (!rootReal) return undefined;
  const wanted = decoded === '/' || decoded === '' ? '/index.html' : decoded;
  const candidate = resolve(rootReal, `.${wanted.startsWith('/') ? wanted : `/${wanted}`}`);
  if (!inside(rootReal, candidate)) return undefined;
  const real = await realpath(candidate).catch(() => undefined);
  if (!real || !inside(rootReal, real)) return undefined;
  const info = await stat(real).catch(() => undefined);
  return info?.isFile() ? real : undefined;
}
