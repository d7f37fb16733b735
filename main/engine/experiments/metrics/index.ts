/** Pure metric functions for FusionScope's experiments (see README.md for every rule and default). */
export * from './vqaAccuracy.ts';
export * from './attentionMaps.ts';
export * from './curves.ts';
export * from './pairedTests.ts';
export * from './multipleChoice.ts';
