/**
 * Replace edits (the sweep's resample and mean fills): compiled from an intervention's per-layer rows
 * over the image span into rows for the chosen positions, and applied by the decoder loop. Values are
 * small integers, so every expectation is written out by hand.
 */
import { describe, expect, it } from 'vitest';

import { applyHiddenEdits } from './decoder.ts';
import { compileInterventions, type PlanShape } from './interventionPlan.ts';

/** Image tokens at positions 3..5 of a 9-position prompt; width 2 below. */
const SHAPE: PlanShape = { imageSpan: [3, 6], layers: 3, heads: 2, promptLength: 9 };
const D = 2;
/** Layer l's replacement: token t's row is [10l + t, −(10l + t)]. */
const rowsOf = (layer: number) =>
  Float32Array.from([0, 1, 2].flatMap((t) => [10 * layer + t, -(10 * layer + t)]));
const REPLACEMENT = new Map([0, 1, 2].map((l) => [l, rowsOf(l)] as const));

describe('compiling a replace edit', () => {
  it('cuts each layer’s rows to the chosen tokens, in their order, a token listed twice once', () => {
    const plan = compileInterventions(
      [{ mode: 'hidden', layers: [1, 2], tokens: [2, 0, 2], replacement: REPLACEMENT }],
      SHAPE,
    );
    expect(plan.firstLayer).toBe(1);
    expect(plan.hiddenEdits.has(0)).toBe(false);
    const [edit1] = plan.hiddenEdits.get(1) ?? [];
    expect(edit1.positions).toEqual([5, 3]);
    expect('rows' in edit1 && Array.from(edit1.rows)).toEqual([12, -12, 10, -10]);
    const [edit2] = plan.hiddenEdits.get(2) ?? [];
    expect('rows' in edit2 && Array.from(edit2.rows)).toEqual([22, -22, 20, -20]);
  });

  it('uses the whole span’s rows as given when every token is replaced in order', () => {
    const plan = compileInterventions([{ mode: 'hidden', layers: [0], replacement: REPLACEMENT }], SHAPE);
    const [edit] = plan.hiddenEdits.get(0) ?? [];
    expect(edit.positions).toEqual([3, 4, 5]);
    expect('rows' in edit && edit.rows).toBe(REPLACEMENT.get(0));
  });

  it('refuses replacement rows it cannot apply, saying why', () => {
    const compile = (iv: Parameters<typeof compileInterventions>[0][number]) => () =>
      compileInterventions([iv], SHAPE);
    expect(compile({ mode: 'knockout', layers: [0], replacement: REPLACEMENT })).toThrow(
      /replacement rows apply to mode "hidden" only/,
    );
    expect(compile({ mode: 'hidden', layers: [0], scale: 0, replacement: REPLACEMENT })).toThrow(
      /a scale or replacement rows, not both/,
    );
    expect(compile({ mode: 'hidden', layers: [0, 1], replacement: new Map([[0, rowsOf(0)]]) })).toThrow(
      /no replacement rows for layer 1/,
    );
    expect(
      compile({ mode: 'hidden', layers: [0], replacement: new Map([[0, new Float32Array(5)]]) }),
    ).toThrow(/layer 0's replacement holds 5 values, not one row for each of the 3 image tokens/);
    const nan = rowsOf(0);
    nan[3] = Number.NaN;
    expect(compile({ mode: 'hidden', layers: [0], replacement: new Map([[0, nan]]) })).toThrow(
      /layer 0's replacement rows are not all finite/,
    );
  });
});

describe('applying hidden edits', () => {
  /** Rows of a block: position p's row is [p, p] (block starting at `offset`). */
  const block = (offset: number, rows: number) =>
    Float32Array.from({ length: rows * D }, (_, j) => offset + Math.floor(j / D));

  it('replaces the rows a block holds and leaves the others, after a scale edit in order', () => {
    const hidden = block(4, 4); // positions 4..7
    applyHiddenEdits(
      hidden,
      [
        { positions: [4, 6], scale: 10 },
        // Position 3 lies before the block: skipped. Position 4 is scaled, then replaced.
        { positions: [3, 4], rows: Float32Array.from([-1, -2, -3, -4]) },
      ],
      4,
      D,
    );
    expect(Array.from(hidden)).toEqual([-3, -4, 5, 5, 60, 60, 7, 7]);
  });

  it('refuses rows of another width than the model’s hidden size', () => {
    expect(() =>
      applyHiddenEdits(block(0, 2), [{ positions: [0], rows: new Float32Array(3) }], 0, D),
    ).toThrow(/hold 3 values for 1 positions; the model's hidden size is 2/);
  });
});
