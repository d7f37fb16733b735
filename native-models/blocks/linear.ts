import type { GraphBuilder } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';

/**
 * y = x · Wᵀ (+ b), for a Hugging Face nn.Linear stored as weight [out, in].
 *
 *   x ──MatMul(W.T)──(Add b)──▶ y
 */
export function linear(
  g: GraphBuilder,
  x: string,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
  label: string,
): string {
  return g.scope(label, () => {
    const w = g.weight(`${prefix}.weight`, [outFeatures, inFeatures], 'transpose');
    const y = g.op('MatMul', [x, w]);
    return bias ? g.op('Add', [y, g.weight(`${prefix}.bias`, [outFeatures])]) : y;
  });
}

/** A vocabulary projection's widest float32 slice: bounds the memory a 16-bit table is widened into. */
const VOCAB_CHUNK_BYTES = 128 * 1024 * 1024;
/** Slices start on 64 KiB of stored bytes, so ONNX Runtime can map each one from the model cache. */
const MAP_ALIGNMENT = 64 * 1024;

/** Rows per slice of a [rows, width] table: as many as fit `chunkBytes` widened, in aligned steps. */
export function vocabChunkRows(width: number, chunkBytes = VOCAB_CHUNK_BYTES): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  // 16-bit rows are the narrowest stored; a step aligned for them is aligned for float32 too.
  const step = MAP_ALIGNMENT / gcd(MAP_ALIGNMENT, 2 * width);
  return Math.max(step, Math.floor(chunkBytes / (4 * width) / step) * step);
}

/**
 * logits = x · Wᵀ for a [vocab, width] table read in its stored layout (no transposed copy), so a
 * table tied to the input embeddings is stored once. Large tables are projected slice by slice, each
 * widened on its own, then concatenated:
 *
 *   x [1, R, width] ──Reshape [R, width]──Gemm(W[r0:r1], transB) ×slices──Concat──Unsqueeze──▶ [1, R, vocab]
 */
export function vocabProjection(
  g: GraphBuilder,
  x: string,
  tableName: string,
  width: number,
  vocab: number,
  chunkBytes = VOCAB_CHUNK_BYTES,
): string {
  const rows = g.op('Reshape', [x, g.constInt64([-1, width])]);
  const step = vocabChunkRows(width, chunkBytes);
  const slices: string[] = [];
  for (let start = 0; start < vocab; start += step) {
    const end = Math.min(vocab, start + step);
    const table = g.weight(tableName, [vocab, width], step >= vocab ? {} : { rows: [start, end] });
    slices.push(g.op('Gemm', [rows, table], { transB: 1 }));
  }
  const logits = slices.length === 1 ? slices[0] : g.op('Concat', slices, { axis: 1 });
  return g.op('Unsqueeze', [logits, g.constInt64([0])]);
}

/**
 * Rows of an embedding table: gathered in the table's stored precision, then widened, so a 16-bit
 * table is never widened whole.
 *
 *   table[ids] ──Gather──Cast(float32)──▶ [.., width]
 */
export function embeddingLookup(
  g: GraphBuilder,
  tableName: string,
  shape: readonly [number, number],
  ids: string,
): string {
  const table = g.weight(tableName, shape, { storedAsIs: true });
  return g.op('Cast', [g.op('Gather', [table, ids], { axis: 0 })], { to: TensorDataType.FLOAT });
}
