/**
 * Checks for what the renderer sends the host's own services (the save and folder dialogs); backend
 * calls are checked by the backend (validateCall). Pure, so tests need no Electron.
 */
import { z } from 'zod';

import { MAX_SVG_CHARS } from '../common/api/index.ts';

export const exportedFileSchema = z.strictObject({
  fileName: z.string().min(1).max(255),
  mime: z.string().min(1).max(200),
  // Exports are base64 of at most a few SVGs' worth of bytes.
  base64: z
    .string()
    .max(2 * MAX_SVG_CHARS)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
});

export const dialogTitleSchema = z.string().min(1).max(200);

/**
 * The suggested name without folders or characters that Windows, macOS or Linux refuse, so the save
 * dialog starts in the chosen folder whatever the renderer asked for.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
  const cleaned = base.replace(/[<>:"|?*\u0000-\u001f]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '');
  return cleaned || 'export';
}

/** The save dialog's file-type filter for a name's extension. */
export function saveFilters(name: string): { name: string; extensions: string[] }[] {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1];
  return ext ? [{ name: ext.toUpperCase(), extensions: [ext.toLowerCase()] }] : [];
}
