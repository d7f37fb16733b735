/**
 * Test-only helpers: an independent oracle that answers a question from the scene description alone,
 * without using the question builders (so a builder bug cannot hide behind itself).
 */
import type { Box, Item, SceneObject } from './types.ts';

export interface OracleResult {
  answer: string;
  /** Objects whose boxes the item should report. */
  relevant: SceneObject[];
  /** Referenced objects that must be unique in the scene. */
  referenced: SceneObject[][];
}

const count = (objects: SceneObject[], test: (o: SceneObject) => boolean) => objects.filter(test);

export function oracle(item: Item): OracleResult {
  const objects = item.scene.objects;
  const q = item.question;
  let m: RegExpExecArray | null;
  // Opt-in families first: some of their questions also fit the looser default templates below.
  const attribute = (o: SceneObject | undefined, which: string) =>
    o === undefined ? '?' : which === 'color' ? o.color : o.shape;
  if (
    (m = /^what (color|shape) is the object (left of|right of|above|below) the (?:(\w+) )?(\w+)\?$/.exec(q))
  ) {
    const [, which, relation, color, shape] = m;
    const refs = count(objects, (o) => o.shape === shape && (color === undefined || o.color === color));
    const ref = refs[0];
    const standing = ref
      ? count(objects, (o) => {
          if (o === ref) return false;
          const [dx, dy] = [o.center[0] - ref.center[0], o.center[1] - ref.center[1]];
          return { 'left of': dx < 0, 'right of': dx > 0, above: dy < 0, below: dy > 0 }[relation]!;
        })
      : [];
    return {
      answer: standing.length === 1 ? attribute(standing[0], which) : '?',
      relevant: [...standing, ...refs],
      referenced: [refs, standing],
    };
  }
  if ((m = /^is the (\w+) (\w+) (on the left or the right|at the top or the bottom)\?$/.exec(q))) {
    const [, color, shape, sides] = m;
    const hits = count(objects, (o) => o.color === color && o.shape === shape);
    const horizontal = sides.startsWith('on');
    const side = (o: SceneObject) => {
      const c = horizontal ? o.center[0] : o.center[1];
      const before = c < item.scene.imageSize / 2;
      return horizontal ? (before ? 'left' : 'right') : before ? 'top' : 'bottom';
    };
    return { answer: hits.length === 1 ? side(hits[0]) : '?', relevant: hits, referenced: [hits] };
  }
  if ((m = /^what (color|shape) is the object with the (letter|digit) (\w)\?$/.exec(q))) {
    const [, which, kind, char] = m;
    const hits = count(objects, (o) => o.glyph?.kind === kind && o.glyph.char.toLowerCase() === char);
    return { answer: attribute(hits[0], which), relevant: hits, referenced: [hits] };
  }
  if ((m = /^what (color|shape) is the (large|small) object\?$/.exec(q))) {
    const hits = count(objects, (o) => o.size === m![2]);
    return { answer: attribute(hits[0], m[1]), relevant: hits, referenced: [hits] };
  }
  if ((m = /^what (letter|digit) is on the (?:(\w+) object|(\w+))\?$/.exec(q))) {
    const [, kind, color, shape] = m;
    const hits = count(objects, (o) => (color !== undefined ? o.color === color : o.shape === shape));
    const glyph = hits[0]?.glyph;
    const answer = glyph && glyph.kind === kind ? glyph.char.toLowerCase() : '?';
    return { answer, relevant: hits, referenced: [hits] };
  }
  if ((m = /^what color is the (\w+)\?$/.exec(q))) {
    const hits = count(objects, (o) => o.shape === m![1]);
    return { answer: hits[0]?.color ?? '?', relevant: hits, referenced: [hits] };
  }
  if ((m = /^what shape is the (\w+) object\?$/.exec(q))) {
    const hits = count(objects, (o) => o.color === m![1]);
    return { answer: hits[0]?.shape ?? '?', relevant: hits, referenced: [hits] };
  }
  if ((m = /^how many (\w+) objects are there\?$/.exec(q))) {
    const hits = count(objects, (o) => o.color === m![1]);
    return { answer: String(hits.length), relevant: hits, referenced: [] };
  }
  if ((m = /^how many (\w+)s are there\?$/.exec(q))) {
    const hits = count(objects, (o) => o.shape === m![1]);
    return { answer: String(hits.length), relevant: hits, referenced: [] };
  }
  if ((m = /^is there a (\w+) (\w+)\?$/.exec(q))) {
    const hits = count(objects, (o) => o.color === m![1] && o.shape === m![2]);
    return { answer: hits.length > 0 ? 'yes' : 'no', relevant: hits, referenced: [] };
  }
  if ((m = /^is the (\w+) (\w+) (left of|right of|above|below) the (\w+) (\w+)\?$/.exec(q))) {
    const a = count(objects, (o) => o.color === m![1] && o.shape === m![2]);
    const b = count(objects, (o) => o.color === m![4] && o.shape === m![5]);
    const [ax, ay] = a[0]?.center ?? [NaN, NaN];
    const [bx, by] = b[0]?.center ?? [NaN, NaN];
    const holds = { 'left of': ax < bx, 'right of': ax > bx, above: ay < by, below: ay > by }[m[3]];
    return { answer: holds ? 'yes' : 'no', relevant: [...a, ...b], referenced: [a, b] };
  }
  if ((m = /^what (letter|digit) is on the (\w+) (\w+)\?$/.exec(q))) {
    const hits = count(objects, (o) => o.color === m![2] && o.shape === m![3]);
    const glyph = hits[0]?.glyph;
    const kindOk = glyph?.kind === m[1];
    return { answer: glyph && kindOk ? glyph.char.toLowerCase() : '?', relevant: hits, referenced: [hits] };
  }
  throw new Error(`oracle: unrecognised question ${JSON.stringify(q)}`);
}

export function boxKey(box: Box): string {
  return box.join(',');
}
