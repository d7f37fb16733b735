/**
 * A run's failed samples counted per reason, for the CLI's end-of-run summary and the app's run view:
 * a run over a big benchmark can fail thousands of samples for two or three causes, which a list of
 * messages buries. Pure, so the engine, the backend and the renderer can all use it.
 */

export interface FailureGroup {
  /** The message, the sample's own image named `<image>` so one cause shared by many counts once. */
  readonly reason: string;
  readonly count: number;
  /** The first few items failing for this reason, in run order. */
  readonly itemIds: readonly string[];
}

/** `a.jpg: invalid JPEG` for the item whose image is `/data/a.jpg` → `<image>: invalid JPEG`. */
function genericReason(error: string, imagePath: string | undefined): string {
  if (imagePath === undefined) return error;
  const name = imagePath.split(/[\\/]/).pop() ?? imagePath;
  return error.split(imagePath).join('<image>').split(name).join('<image>');
}

/** Groups failed samples by reason, most frequent first (ties: first seen first). */
export function groupFailures(
  failed: readonly { readonly itemId: string; readonly error: string | null }[],
  imagePathOf: (itemId: string) => string | undefined,
  idsPerGroup = 3,
): FailureGroup[] {
  const groups = new Map<string, { count: number; itemIds: string[] }>();
  for (const { itemId, error } of failed) {
    const reason = genericReason(error ?? 'unknown error', imagePathOf(itemId));
    let group = groups.get(reason);
    if (group === undefined) {
      group = { count: 0, itemIds: [] };
      groups.set(reason, group);
    }
    group.count++;
    if (group.itemIds.length < idsPerGroup) group.itemIds.push(itemId);
  }
  return [...groups].map(([reason, group]) => ({ reason, ...group })).sort((a, b) => b.count - a.count);
}
