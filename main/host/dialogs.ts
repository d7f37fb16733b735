/** The host's native dialogs behind PreloadBridge.saveFile and chooseFolder. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { app, dialog, type BrowserWindow } from 'electron';

import type { ExportedFile } from '../common/api/types.ts';
import { safeFileName, saveFilters } from './validate.ts';

/** Asks where to save (suggesting the export's name in Downloads), writes the bytes, returns the path. */
export async function saveFile(window: BrowserWindow | null, file: ExportedFile): Promise<string | null> {
  const name = safeFileName(file.fileName);
  const options = { defaultPath: join(app.getPath('downloads'), name), filters: saveFilters(name) };
  const { canceled, filePath } = window
    ? await dialog.showSaveDialog(window, options)
    : await dialog.showSaveDialog(options);
  if (canceled || !filePath) return null;
  await writeFile(filePath, Buffer.from(file.base64, 'base64'));
  return filePath;
}

export async function chooseFolder(window: BrowserWindow | null, title: string): Promise<string | null> {
  const options = { title, properties: ['openDirectory' as const] };
  const { canceled, filePaths } = window
    ? await dialog.showOpenDialog(window, options)
    : await dialog.showOpenDialog(options);
  return canceled ? null : (filePaths[0] ?? null);
}

export async function showAbout(window: BrowserWindow | null, workspace: string): Promise<void> {
  const { versions } = process;
  const options = {
    type: 'info' as const,
    title: 'About FusionScope',
    message: `FusionScope ${app.getVersion()}`,
    detail:
      'Where vision meets language inside multimodal LLMs: layer-wise masking, attention evolution, ' +
      `contrastive attention.\n\nWorkspace: ${workspace}\n` +
      `Electron ${versions.electron}, Chromium ${versions.chrome}, Node ${versions.node}`,
  };
  if (window) await dialog.showMessageBox(window, options);
  else await dialog.showMessageBox(options);
}
