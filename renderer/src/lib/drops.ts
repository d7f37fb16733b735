/**
 * What to do with something dropped on the window, decided from what the drop says about itself.
 * Nothing here is trusted: a path goes to the backend (inspectPath), which looks at the files and
 * says model, dataset or image; image bytes go to the Playground, whose backend call decodes them.
 *
 * The desktop app knows where a dropped file lives (the preload's pathForFile); a browser never tells
 * a page, so browser mode can use the bytes of a dropped image, a path dropped as text (dragged from
 * a terminal or an address bar), and otherwise says how to proceed.
 */

/** One dropped file or folder, as the drop event describes it. */
export interface DroppedEntry {
  readonly name: string;
  /** The browser's guess from the name (e.g. "image/png"); "" for folders and unknown types. */
  readonly type: string;
  /** Where it lives (desktop app), else null. */
  readonly path: string | null;
  readonly isFolder: boolean;
}

export type DropPlan =
  /** Ask the backend what each path is, then open, import or show it. */
  | { readonly kind: 'paths'; readonly paths: readonly string[] }
  /** Hand this entry's bytes to the Playground (browser mode). */
  | { readonly kind: 'image'; readonly index: number; readonly ignored: number }
  /** Nothing to act on: say why and what to do instead. */
  | { readonly kind: 'notice'; readonly text: string };

const ABSOLUTE = /^(\/|[A-Za-z]:[\\/]|\\\\)/;

/** Absolute paths in dropped text: one per line, plain or as file:// URLs; null when any line is something else. */
export function pathsInText(text: string): string[] | null {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#')); // text/uri-list comments
  if (!lines.length) return null;
  const paths: string[] = [];
  for (const line of lines) {
    if (line.startsWith('file://')) {
      let url: URL;
      try {
        url = new URL(line);
      } catch {
        return null;
      }
      const path = decodeURIComponent(url.pathname);
      // file:///C:/data → C:/data on Windows.
      paths.push(/^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path);
    } else if (ABSOLUTE.test(line)) paths.push(line);
    else return null;
  }
  return paths;
}

export const DROP_HINT = 'Drop a model folder, a dataset (file or folder) or an image.';

export function planDrop(entries: readonly DroppedEntry[], text: string | null): DropPlan {
  const located = entries.filter((entry) => entry.path !== null).map((entry) => entry.path as string);
  if (located.length) return { kind: 'paths', paths: located };
  if (!entries.length) {
    const paths = text === null ? null : pathsInText(text);
    return paths ? { kind: 'paths', paths } : { kind: 'notice', text: DROP_HINT };
  }
  const image = entries.findIndex((entry) => !entry.isFolder && entry.type.startsWith('image/'));
  if (image >= 0) return { kind: 'image', index: image, ignored: entries.length - 1 };
  const what = entries[0].isFolder ? 'folder' : 'file';
  return {
    kind: 'notice',
    text:
      `The browser does not tell the page where the dropped ${what} “${entries[0].name}” lives. ` +
      'Type its path in Models or Datasets (or drop the path as text), or drop it on the desktop app.',
  };
}
