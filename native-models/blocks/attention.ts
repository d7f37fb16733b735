/**
 * Multi-head attention pieces shared by the vision tower and the decoder. Tensors are [B, T, H·d]
 * outside attention and [B, H, T, d] inside it.
 */
import type { GraphBuilder } from '../onnx/builder.ts';
import { linear } from './linear.ts';

/** [B, T, H·d] → Reshape [B, T, H, d] → Transpose → [B, H, T, d] */
export function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const shaped = g.op('Reshape', [x, g.constInt64([0, 0, heads, headDim])]);
  return g.op('Transpose', [shaped], { perm: [0, 2, 1, 3] });
}

/**
 * One fused `qkv` linear (width → 3·width) split into q, k and v heads [B, H, T, d]. transformers
 * reshapes its output to [B, T, 3, H, d], so q, k and v are the contiguous thirds of the last axis.
 *
 *   x ──qkv──Split(last axis, thirds)──splitHeads ×3──▶ q, k, v
 */
export function fusedQkvHeads(
  g: GraphBuilder,
  x: string,
  prefix: string,
  width: number,
  heads: number,
  bias: boolean,
): string[] {
  const qkv = linear(g, x, prefix, width, 3 * width, bias, 'qkv');
  return g
    .opMulti('Split', [qkv, g.constInt64([width, width, width])], 3, { axis: -1 })
    .map((part) => splitHeads(g, part, heads, width / heads));
}

/** [B, H, T, d] → Transpose → [B, T, H, d] → Reshape → [B, T, H·d] */
export function mergeHeads(g: GraphBuilder, x: string, width: number): string {
  const transposed = g.op('Transpose', [x], { perm: [0, 2, 1, 3] });
  return g.op('Reshape', [transposed, g.constInt64([0, 0, width])]);
}

/**
 * Rotary embedding, transformers' rotate-half convention: x·cos + rotate_half(x)·sin, where
 * rotate_half([x1, x2]) = [−x2, x1] on the two halves of the head dimension. cos/sin arrive as
 * [T, d] graph inputs, so families with other position schemes (M-RoPE) reuse the same graph.
 *
 *   x ──Slice[:d/2]──────────────┐
 *   x ──Slice[d/2:]──Neg──Concat(−x2, x1)──Mul(sin)──┐
 *   x ──Mul(cos)─────────────────────────────────────Add──▶ y
 */
export function applyRope(g: GraphBuilder, x: string, cos4d: string, sin4d: string, headDim: number): string {
  return g.scope('rope', () => {
    const half = headDim / 2;
    const first = g.op('Slice', [x, g.constInt64([0]), g.constInt64([half]), g.constInt64([3])]);
    const second = g.op('Slice', [x, g.constInt64([half]), g.constInt64([headDim]), g.constInt64([3])]);
    const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: 3 });
    return g.op('Add', [g.op('Mul', [x, cos4d]), g.op('Mul', [rotated, sin4d])]);
  });
}

/**
 * Grouped-query attention: each of the kvHeads key/value heads serves `groups` query heads,
 * as transformers' repeat_kv does.
 *
 *   [B, Hkv, S, d] ──Unsqueeze(2)──Expand [B, Hkv, groups, S, d]──Reshape──▶ [B, Hkv·groups, S, d]
 */
export function repeatKv(
  g: GraphBuilder,
  x: string,
  kvHeads: number,
  groups: number,
  headDim: number,
): string {
  if (groups === 1) return x;
  return g.scope('repeat_kv', () => {
    const unsqueezed = g.op('Unsqueeze', [x, g.constInt64([2])]);
    const shape = g.op('Shape', [unsqueezed]);
    const target = g.op(
      'Concat',
      [
        g.op('Slice', [shape, g.constInt64([0]), g.constInt64([2]), g.constInt64([0])]),
        g.constInt64([groups]),
        g.op('Slice', [shape, g.constInt64([3]), g.constInt64([5]), g.constInt64([0])]),
      ],
      { axis: 0 },
    );
    const expanded = g.op('Expand', [unsqueezed, target]);
    return g.op('Reshape', [expanded, g.constInt64([0, kvHeads * groups, -1, headDim])]);
  });
}

/**
 * softmax(q·kᵀ·scale + bias)·v, returning the probabilities too (they are a read-out, not a cost:
 * they are computed anyway). Softmax runs in float32.
 *
 *   q ──MatMul(kᵀ)──Mul(scale)──(Add bias)──Softmax──▶ probs ──MatMul(v)──▶ out
 */
export function scaledDotProductAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  scale: number,
  bias?: string,
): { output: string; probs: string } {
  const keysT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
  const scores = g.op('Mul', [g.op('MatMul', [q, keysT]), g.scalarFloat(scale)]);
  const biased = bias ? g.op('Add', [scores, bias]) : scores;
  const probs = g.op('Softmax', [biased], { axis: -1 });
  return { output: g.op('MatMul', [probs, v]), probs };
}
