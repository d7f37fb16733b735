/** `fusionscope cache list|clear`: the model cache's entries, their sizes, and removing them. */
import { FusionError } from '../../common/errors.ts';
import { clearModelCache, gib, listModelCache, type CacheListing } from '../model/modelCache.ts';
import { modelCacheFlag, type Flags } from './flags.ts';

function describe(entry: CacheListing): string {
  const what = entry.manifest
    ? `${entry.manifest.precision.padEnd(4)} ${entry.manifest.checkpoint} (built ${entry.manifest.createdAt})`
    : `damaged: ${entry.problem} (rebuilt on next open)`;
  return `${entry.key}  ${gib(entry.bytes).padStart(9)}  ${what}`;
}

export async function cacheCommand(action: string | undefined, flags: Flags): Promise<void> {
  const dir = modelCacheFlag(flags);
  if (action === 'list') {
    const entries = await listModelCache(dir);
    for (const entry of entries) process.stdout.write(`${describe(entry)}\n`);
    const total = entries.reduce((n, e) => n + e.bytes, 0);
    process.stdout.write(`${entries.length} model(s), ${gib(total)} in ${dir}\n`);
    return;
  }
  if (action === 'clear') {
    const removed = await clearModelCache(dir, flags.key);
    const total = removed.reduce((n, e) => n + e.bytes, 0);
    process.stdout.write(`removed ${removed.length} model(s), ${gib(total)} from ${dir}\n`);
    return;
  }
  throw new FusionError(
    'BAD_ARGUMENT',
    `cache: expected "list" or "clear", got ${JSON.stringify(action ?? '')}`,
  );
}
