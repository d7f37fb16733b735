/**
 * The window's size and position, kept across restarts in `<userData>/window-state.json`: read and
 * checked (anything odd is ignored, never an error: a window must open), placed on the displays there
 * are now (a monitor unplugged since, a smaller screen), and saved as the user moves, resizes and
 * closes it. No Electron import: main.ts hands in the work areas and the window, so this is tested
 * with plain data and a stand-in window.
 */
import { z } from 'zod';

export interface Rectangle {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface WindowState {
  /** The normal (not maximised, not full-screen) bounds, in screen coordinates. */
  readonly bounds: Rectangle;
  readonly maximized: boolean;
  readonly fullScreen: boolean;
}

/** Where and how to open the window: bounds for BrowserWindow's options, then maximise or not. */
export interface Placement {
  readonly bounds: {
    readonly x?: number;
    readonly y?: number;
    readonly width: number;
    readonly height: number;
  };
  readonly maximized: boolean;
  readonly fullScreen: boolean;
}

export const DEFAULT_SIZE = { width: 1440, height: 900 } as const;
export const MIN_SIZE = { width: 960, height: 600 } as const;

const coordinate = z.number().int().min(-1_000_000).max(1_000_000);
const extent = z.number().int().min(1).max(1_000_000);
const stateSchema = z.object({
  bounds: z.object({ x: coordinate, y: coordinate, width: extent, height: extent }),
  maximized: z.boolean(),
  fullScreen: z.boolean(),
});

/** The saved state, or null for no file, bad JSON or a wrong shape (the window then opens as new). */
export function parseWindowState(text: string | undefined): WindowState | null {
  if (text === undefined) return null;
  try {
    const parsed = stateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function overlap(a: Rectangle, b: Rectangle): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

/** At most the area's size (a window larger than its screen hides its title bar), at least the minimum where it fits. */
function fitSize(width: number, height: number, area: Rectangle): { width: number; height: number } {
  const fit = (wanted: number, min: number, room: number) =>
    Math.min(Math.max(wanted, Math.min(min, room)), room);
  return { width: fit(width, MIN_SIZE.width, area.width), height: fit(height, MIN_SIZE.height, area.height) };
}

function centred(size: { width: number; height: number }, area: Rectangle): Rectangle {
  return {
    x: area.x + Math.round((area.width - size.width) / 2),
    y: area.y + Math.round((area.height - size.height) / 2),
    ...size,
  };
}

/**
 * Where the window opens. Saved bounds go on the display they overlap most, moved and shrunk only as
 * far as needed to lie wholly inside its work area (so the title bar can always be grabbed); bounds on
 * no display now keep their size, centred on the primary one. No saved state: the default size,
 * centred on the primary display.
 */
export function placeWindow(
  saved: WindowState | null,
  workAreas: readonly Rectangle[],
  primary: Rectangle,
): Placement {
  if (saved === null) {
    return {
      bounds: centred(fitSize(DEFAULT_SIZE.width, DEFAULT_SIZE.height, primary), primary),
      maximized: false,
      fullScreen: false,
    };
  }
  const { bounds } = saved;
  const best = workAreas.reduce<{ area: Rectangle; shared: number } | null>((found, area) => {
    const shared = overlap(bounds, area);
    return shared > (found?.shared ?? 0) ? { area, shared } : found;
  }, null);
  const area = best?.area ?? primary;
  const size = fitSize(bounds.width, bounds.height, area);
  const placed = best
    ? {
        x: Math.min(Math.max(bounds.x, area.x), area.x + area.width - size.width),
        y: Math.min(Math.max(bounds.y, area.y), area.y + area.height - size.height),
        ...size,
      }
    : centred(size, area);
  return { bounds: placed, maximized: saved.maximized, fullScreen: saved.fullScreen };
}

export function serializeWindowState(state: WindowState): string {
  return `${JSON.stringify(state)}\n`;
}

/** The part of a BrowserWindow the tracker reads (a stand-in in tests). */
export interface TrackedWindow {
  getNormalBounds(): Rectangle;
  isMaximized(): boolean;
  isFullScreen(): boolean;
  on(event: 'move' | 'resize' | 'maximize' | 'unmaximize' | 'close', listener: () => void): unknown;
}

/** Saving on every pixel of a drag would write the file hundreds of times a second. */
export const SAVE_DELAY_MS = 500;

/**
 * Saves the window's state a moment after it moves or resizes (so a crash loses little) and at once
 * when it closes. `save` must not throw; main.ts's writes swallow their errors.
 */
export function trackWindowState(
  window: TrackedWindow,
  save: (state: WindowState) => void,
  delayMs: number = SAVE_DELAY_MS,
): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const saveNow = () => {
    clearTimeout(timer);
    timer = undefined;
    save({
      bounds: window.getNormalBounds(),
      maximized: window.isMaximized(),
      fullScreen: window.isFullScreen(),
    });
  };
  const saveSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(saveNow, delayMs);
  };
  for (const event of ['move', 'resize', 'maximize', 'unmaximize'] as const) window.on(event, saveSoon);
  window.on('close', saveNow);
}
