// Types for scripts/icons.mjs (imported by main/host/packaging.test.ts).
export declare const ICON_DIR: string;
export declare const ICON_SOURCE: string;
export declare const PNG_SIZES: readonly number[];
export declare const ICO_SIZES: readonly number[];
export declare const ICNS_TYPES: readonly (readonly [string, number])[];
export declare function renderPng(svg: string, size: number): Buffer;
export declare function encodeIco(images: readonly { size: number; png: Buffer }[]): Buffer;
export declare function encodeIcns(images: readonly { type: string; png: Buffer }[]): Buffer;
export declare function iconFiles(svg: string): Map<string, Buffer>;
