/** Dataset importers: one entry point, the shared item type, and the format registry. */
export { openDataset, describeSkipped, skippedWhere } from './openDataset.ts';
export { FORMAT_NAMES, isFormatName } from './registry.ts';
export { openVqaDataset, type VqaDataset } from './vqaDataset.ts';
export type {
  Box,
  DatasetItem,
  FormatName,
  Metric,
  OpenDatasetOptions,
  OpenedDataset,
  SkippedItem,
  VqaItem,
} from './types.ts';
