import { EventEmitter } from 'node:events';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  DEFAULT_SIZE,
  MIN_SIZE,
  parseWindowState,
  placeWindow,
  SAVE_DELAY_MS,
  serializeWindowState,
  trackWindowState,
  type Rectangle,
  type WindowState,
} from './windowState.ts';

/** A 1920 × 1080 laptop (a 40 px panel at the bottom) with a 2560 × 1440 monitor to its right. */
const LAPTOP: Rectangle = { x: 0, y: 0, width: 1920, height: 1040 };
const MONITOR: Rectangle = { x: 1920, y: -200, width: 2560, height: 1440 };
const DISPLAYS = [LAPTOP, MONITOR];

const state = (bounds: Rectangle, extra: Partial<WindowState> = {}): WindowState => ({
  bounds,
  maximized: false,
  fullScreen: false,
  ...extra,
});

const inside = (r: Rectangle, area: Rectangle) =>
  r.x >= area.x &&
  r.y >= area.y &&
  r.x + r.width <= area.x + area.width &&
  r.y + r.height <= area.y + area.height;

describe('parseWindowState', () => {
  it('reads back what serializeWindowState wrote', () => {
    const saved = state({ x: -40, y: 12, width: 1200, height: 800 }, { maximized: true });
    expect(parseWindowState(serializeWindowState(saved))).toEqual(saved);
  });

  it.each([
    ['no file', undefined],
    ['an empty file', ''],
    ['a cut-off file', '{"bounds": {"x": 1'],
    ['a list', '[]'],
    ['a missing flag', '{"bounds": {"x": 0, "y": 0, "width": 800, "height": 600}, "maximized": false}'],
    [
      'a zero width',
      '{"bounds": {"x": 0, "y": 0, "width": 0, "height": 600}, "maximized": false, "fullScreen": false}',
    ],
    [
      'a fractional x',
      '{"bounds": {"x": 0.5, "y": 0, "width": 800, "height": 600}, "maximized": false, "fullScreen": false}',
    ],
    [
      'a string size',
      '{"bounds": {"x": 0, "y": 0, "width": "800", "height": 600}, "maximized": false, "fullScreen": false}',
    ],
    [
      'an absurd coordinate',
      '{"bounds": {"x": 1e12, "y": 0, "width": 800, "height": 600}, "maximized": false, "fullScreen": false}',
    ],
  ])('ignores %s', (_what, text) => {
    expect(parseWindowState(text)).toBeNull();
  });
});

describe('placeWindow', () => {
  it('opens a first window at the default size, centred on the primary display', () => {
    expect(placeWindow(null, DISPLAYS, LAPTOP)).toEqual({
      bounds: { x: 240, y: 70, ...DEFAULT_SIZE },
      maximized: false,
      fullScreen: false,
    });
  });

  it('puts a window that fits back exactly where it was, on either display', () => {
    for (const bounds of [
      { x: 100, y: 50, width: 1200, height: 800 },
      { x: 2500, y: -150, width: 1600, height: 1000 },
    ]) {
      expect(placeWindow(state(bounds), DISPLAYS, LAPTOP).bounds).toEqual(bounds);
    }
  });

  it('keeps maximised and full-screen, with the normal bounds to return to', () => {
    const saved = state({ x: 2000, y: 0, width: 1000, height: 700 }, { maximized: true, fullScreen: true });
    expect(placeWindow(saved, DISPLAYS, LAPTOP)).toEqual({ ...saved, bounds: saved.bounds });
  });

  it('pulls a window hanging off its display back inside, keeping its size', () => {
    // Mostly on the laptop, its top-left above the screen: moved down and left, not resized.
    const placed = placeWindow(
      state({ x: 1000, y: -100, width: 1200, height: 800 }),
      DISPLAYS,
      LAPTOP,
    ).bounds;
    expect(placed).toEqual({ x: 720, y: 0, width: 1200, height: 800 });
    expect(inside(placed as Rectangle, LAPTOP)).toBe(true);
  });

  it('chooses the display the window overlaps most', () => {
    // 400 px on the laptop, 1100 px on the monitor.
    const placed = placeWindow(state({ x: 1520, y: 100, width: 1500, height: 900 }), DISPLAYS, LAPTOP).bounds;
    expect(placed).toEqual({ x: 1920, y: 100, width: 1500, height: 900 });
  });

  it('centres a window from a monitor unplugged since on the primary display, shrunk to fit', () => {
    const placed = placeWindow(state({ x: 2200, y: 0, width: 2400, height: 1300 }), [LAPTOP], LAPTOP).bounds;
    expect(placed).toEqual({ x: 0, y: 0, width: 1920, height: 1040 });
    const small = placeWindow(state({ x: 5000, y: 5000, width: 1000, height: 700 }), [LAPTOP], LAPTOP).bounds;
    expect(small).toEqual({ x: 460, y: 170, width: 1000, height: 700 });
  });

  it('grows a window below the minimum size, but never past a small screen', () => {
    const tiny = placeWindow(state({ x: 10, y: 10, width: 200, height: 100 }), DISPLAYS, LAPTOP).bounds;
    expect(tiny).toEqual({ x: 10, y: 10, ...MIN_SIZE });
    const netbook: Rectangle = { x: 0, y: 0, width: 800, height: 560 };
    const placed = placeWindow(state({ x: 0, y: 0, width: 1440, height: 900 }), [netbook], netbook).bounds;
    expect(placed).toEqual({ x: 0, y: 0, width: 800, height: 560 });
    expect(placeWindow(null, [netbook], netbook).bounds).toEqual(netbook);
  });

  it('places every saved window wholly inside some display (random bounds, two layouts)', () => {
    let seed = 7;
    const random = (lo: number, hi: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return lo + (seed % (hi - lo + 1));
    };
    for (const displays of [DISPLAYS, [LAPTOP]]) {
      for (let i = 0; i < 500; i++) {
        const saved = state({
          x: random(-5000, 6000),
          y: random(-3000, 3000),
          width: random(1, 5000),
          height: random(1, 3000),
        });
        const placed = placeWindow(saved, displays, LAPTOP).bounds as Rectangle;
        expect(
          displays.some((area) => inside(placed, area)),
          JSON.stringify(saved),
        ).toBe(true);
      }
    }
  });
});

describe('trackWindowState', () => {
  class StandInWindow extends EventEmitter {
    bounds: Rectangle = { x: 0, y: 0, width: 1000, height: 700 };
    maximized = false;
    getNormalBounds = () => this.bounds;
    isMaximized = () => this.maximized;
    isFullScreen = () => false;
  }

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('saves once a drag has settled, and at once on close', () => {
    const window = new StandInWindow();
    const saved: WindowState[] = [];
    trackWindowState(window, (s) => saved.push(s));
    for (let x = 0; x < 50; x++) {
      window.bounds = { ...window.bounds, x };
      window.emit('move');
      vi.advanceTimersByTime(10);
    }
    expect(saved).toEqual([]);
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(saved).toEqual([state({ x: 49, y: 0, width: 1000, height: 700 })]);

    window.maximized = true;
    window.emit('maximize');
    window.emit('close');
    expect(saved.at(-1)).toEqual(state({ x: 49, y: 0, width: 1000, height: 700 }, { maximized: true }));
    vi.advanceTimersByTime(SAVE_DELAY_MS * 2);
    expect(saved).toHaveLength(2); // the close cancelled the pending save
  });
});
