/**
 * Reading a model folder's tokenizer files. tokenizer.json is required; tokenizer_config.json,
 * special_tokens_map.json and the chat template files are optional. As in transformers'
 * `from_pretrained`, special_tokens_map.json entries override the config's, a `chat_template.jinja`
 * file overrides the config's template, and `chat_template.json` (the processor-level file of
 * llava-hf models) is used only when neither provides one.
 */
import { join } from 'node:path';

import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { parseJsonFile } from '../files/jsonFile.ts';
import { readOptionalTextFile } from '../files/regularFile.ts';

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  source: string;
}

const SPECIAL_TOKEN_KEYS = new Set([
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
  'additional_special_tokens',
]);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function readTokenizerFolder(dir: string): Promise<TokenizerFiles> {
  const source = join(dir, 'tokenizer.json');
  const tokenizerText = await readOptionalTextFile(source);
  if (tokenizerText === undefined) {
    throw new FusionError(
      'MISSING_FILE',
      `tokenizer.json not found: ${shownPath(source)} (the model folder must contain it)`,
    );
  }
  const tokenizerJson = parseJsonFile(tokenizerText, source, 'BAD_TOKENIZER');

  const configPath = join(dir, 'tokenizer_config.json');
  const configText = await readOptionalTextFile(configPath);
  let tokenizerConfig =
    configText === undefined ? undefined : parseJsonFile(configText, configPath, 'BAD_CONFIG');

  const mapPath = join(dir, 'special_tokens_map.json');
  const mapText = await readOptionalTextFile(mapPath);
  if (mapText !== undefined) {
    const map = parseJsonFile(mapText, mapPath, 'BAD_CONFIG');
    if (!isPlainObject(map)) throw new FusionError('BAD_CONFIG', `${shownPath(mapPath)}: must be an object`);
    if (tokenizerConfig === undefined || isPlainObject(tokenizerConfig)) {
      const overrides = Object.fromEntries(
        Object.entries(map).filter(([key]) => SPECIAL_TOKEN_KEYS.has(key)),
      );
      tokenizerConfig = { ...(tokenizerConfig ?? {}), ...overrides };
    }
  }

  const jinja = await readOptionalTextFile(join(dir, 'chat_template.jinja'));
  let template = jinja;
  if (template === undefined && !(isPlainObject(tokenizerConfig) && tokenizerConfig.chat_template != null)) {
    const processorPath = join(dir, 'chat_template.json');
    const processorText = await readOptionalTextFile(processorPath);
    if (processorText !== undefined) {
      const processor = parseJsonFile(processorText, processorPath, 'BAD_CONFIG');
      const value = isPlainObject(processor) ? processor.chat_template : undefined;
      if (typeof value !== 'string') {
        throw new FusionError('BAD_CONFIG', `${shownPath(processorPath)}: chat_template must be a string`);
      }
      template = value;
    }
  }
  // A malformed config is left as is so that Tokenizer.fromJSON reports it.
  if (template !== undefined && (tokenizerConfig === undefined || isPlainObject(tokenizerConfig))) {
    tokenizerConfig = { ...(tokenizerConfig ?? {}), chat_template: template };
  }
  return { tokenizerJson, tokenizerConfig, source };
}
