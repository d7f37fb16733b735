/**
 * Every dataset format, by name. Adding one is a file in `formats/` and a line here; the `Record` type
 * makes the compiler insist that every `FormatName` has a reader. Order is detection order (it only
 * matters for error messages: two matches are refused as ambiguous).
 */
import { FusionError } from '../../common/errors.ts';
import { quoted } from '../../../native-models/files/messageText.ts';
import type { DatasetFormat } from './format.ts';
import { aokvqa } from './formats/aokvqa.ts';
import { docvqa } from './formats/docvqa.ts';
import { fusionscopeVqa } from './formats/fusionscopeVqa.ts';
import { gqa } from './formats/gqa.ts';
import { hfParquet } from './formats/hfParquet.ts';
import { imageFolder } from './formats/imageFolder.ts';
import { llava } from './formats/llava.ts';
import { pope } from './formats/pope.ts';
import { textvqa } from './formats/textvqa.ts';
import { vizwiz } from './formats/vizwiz.ts';
import { vlmevalkitTsv } from './formats/vlmevalkitTsv.ts';
import { vqacp } from './formats/vqacp.ts';
import { vqav2 } from './formats/vqav2.ts';
import type { FormatName } from './types.ts';

const FORMATS: Readonly<Record<FormatName, DatasetFormat>> = {
  'fusionscope-vqa': fusionscopeVqa,
  'llava-jsonl': llava,
  vqav2,
  vqacp,
  textvqa,
  vizwiz,
  gqa,
  pope,
  docvqa,
  'vlmevalkit-tsv': vlmevalkitTsv,
  'hf-parquet': hfParquet,
  aokvqa,
  'image-folder': imageFolder,
};

export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

export const allFormats = (): DatasetFormat[] => Object.values(FORMATS);

export function isFormatName(name: unknown): name is FormatName {
  return typeof name === 'string' && Object.hasOwn(FORMATS, name);
}

export function formatByName(
  name: string,
  code: 'BAD_ARGUMENT' | 'BAD_DATASET',
  where: string,
): DatasetFormat {
  if (isFormatName(name)) return FORMATS[name];
  throw new FusionError(
    code,
    `${where}: unknown dataset format ${quoted(name)}; known: ${FORMAT_NAMES.join(', ')}`,
  );
}
