/**
 * The response of the app's schemes for a file, its bytes read from one handle. The path handed in
 * was resolved and checked (resolveServedFile, resolveStaticFile); opening it again by name, as a
 * net.fetch of its file: URL did, left a window in which a symbolic link swapped onto the path (or
 * onto a folder on it) would be served instead. Here it is opened once, not following a link and not
 * blocking on a FIFO, the opened handle is proved to be the file that path names
 * (openResolvedRegularFile), and the body streams from that handle. No Electron here, so tests can
 * run it.
 */
import { Readable } from 'node:stream';

import { openResolvedRegularFile } from '../backend/staticFiles.ts';

/** Headers every file either scheme serves carries. */
export const SERVED_FILE_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };

/**
 * A 200 response streaming `realPath` with `headers`, or undefined when the file there cannot be
 * opened as the one that was checked (gone, replaced, not a regular file): the caller answers 404.
 */
export async function fileResponse(
  realPath: string,
  headers: Readonly<Record<string, string>>,
): Promise<Response | undefined> {
  let opened;
  try {
    opened = await openResolvedRegularFile(realPath);
  } catch {
    return undefined;
  }
  // The stream closes the handle when it ends, fails or is cancelled.
  const body = Readable.toWeb(opened.handle.createReadStream()) as ReadableStream<Uint8Array>;
  return new Response(body, {
    status: 200,
    headers: { ...SERVED_FILE_HEADERS, 'content-length': String(opened.stats.size), ...headers },
  });
}
