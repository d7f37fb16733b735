/**
 * The engine's one way to read a JSON file a model folder holds (config.json, generation_config.json,
 * the tokenizer's files, preprocessor_config.json): only a regular file, never blocking on a FIFO
 * (native-models/files/regularFile.ts), and a parse error that says where, never what the file says.
 */
import { parseJsonText } from '../../../native-models/files/jsonText.ts';
import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError, type FusionErrorCode } from '../../common/errors.ts';
import { readOptionalTextFile, readRegularTextFile } from './regularFile.ts';

/** Why a file's JSON is rejected: BAD_TOKENIZER for tokenizer.json, BAD_CONFIG for the rest. */
export type JsonFileCode = Extract<FusionErrorCode, 'BAD_CONFIG' | 'BAD_TOKENIZER'>;

/** Parses `text` read from `path`; a syntax error is `code`, located by line and column. */
export function parseJsonFile(text: string, path: string, code: JsonFileCode = 'BAD_CONFIG'): unknown {
  return parseJsonText(
    text,
    (where) => new FusionError(code, `${shownPath(path)}: not valid JSON (${where})`),
  );
}

/** The parsed JSON at `path`; MISSING_FILE names it when it is absent or not a regular file. */
export async function readJsonFile(path: string, code: JsonFileCode = 'BAD_CONFIG'): Promise<unknown> {
  return parseJsonFile(await readRegularTextFile(path), path, code);
}

/** Like readJsonFile, but undefined when nothing is at `path` (an optional file). */
export async function readOptionalJsonFile(
  path: string,
  code: JsonFileCode = 'BAD_CONFIG',
): Promise<unknown> {
  const text = await readOptionalTextFile(path);
  return text === undefined ? undefined : parseJsonFile(text, path, code);
}
