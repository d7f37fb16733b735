/**
 * Replies and events must read the same over every transport: JSON (HTTP, WebSocket) turns NaN and
 * ±Infinity into null, Electron's structured clone keeps them. So the backend turns them into null
 * itself (e.g. a mean over zero samples), and typed arrays into plain arrays.
 */
export function jsonSafe<T>(value: T): T {
  return convert(value) as T;
}

function convert(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, convert);
  }
  if (Array.isArray(value)) return value.map(convert);
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = convert(entry);
  return out;
}
