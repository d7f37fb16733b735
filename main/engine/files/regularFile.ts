/**
 * native-models/files/regularFile.ts for the engine: the same checks (a regular file only, opened
 * without blocking, read through the checked handle), failing as the engine's FusionError with the
 * same code and message, so engine callers see one error type.
 */
import * as checked from '../../../native-models/files/regularFile.ts';
import { ModelFormatError } from '../../../native-models/errors.ts';
import { FusionError } from '../../common/errors.ts';

export type { RegularFile } from '../../../native-models/files/regularFile.ts';
export { somethingAt } from '../../../native-models/files/regularFile.ts';

function asFusionError(error: unknown): unknown {
  return error instanceof ModelFormatError
    ? new FusionError(error.code, error.message, { cause: error })
    : error;
}

async function engineErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw asFusionError(error);
  }
}

export function openRegularFile(path: string): Promise<checked.RegularFile> {
  return engineErrors(checked.openRegularFile(path));
}

/** A path already resolved and checked (a served file): opened once, the handle proved to be that file. */
export function openResolvedRegularFile(path: string): Promise<checked.RegularFile> {
  return engineErrors(checked.openResolvedRegularFile(path));
}

export function readRegularFile(path: string): Promise<Buffer> {
  return engineErrors(checked.readRegularFile(path));
}

export function readRegularTextFile(path: string): Promise<string> {
  return engineErrors(checked.readRegularTextFile(path));
}

export function readOptionalTextFile(path: string): Promise<string | undefined> {
  return engineErrors(checked.readOptionalTextFile(path));
}
