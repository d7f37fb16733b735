/**
 * The main-process end of the preload bridge. Every handler first checks that the message comes from
 * our page (the main frame of the app origin); backend calls then go to `backend.call`, which
 * validates method and parameters itself, and dialog requests are checked here.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';

import type { Backend } from '../backend/types.ts';
import type { ApiEvent, ApiReply } from '../common/api/index.ts';
import { errorToResult } from '../common/errors.ts';
import { CHANNELS } from './channels.ts';
import { chooseFolder, saveFile } from './dialogs.ts';
import { isTrustedSender } from './security.ts';
import { dialogTitleSchema, exportedFileSchema } from './validate.ts';

function trusted(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && isTrustedSender(frame.url, frame === event.sender.mainFrame);
}

function refuseUntrusted(event: IpcMainInvokeEvent): void {
  if (!trusted(event)) throw new Error('refused: IPC from a frame that is not the FusionScope window');
}

export function registerIpc(backend: Promise<Backend>): void {
  ipcMain.handle(CHANNELS.call, async (event, method: unknown, params: unknown): Promise<ApiReply> => {
    if (!trusted(event)) {
      return {
        ok: false,
        error: { code: 'FORBIDDEN', message: 'IPC from a frame that is not the FusionScope window' },
      };
    }
    return backend.then((ready) => ready.call(method, params), errorToResult);
  });
  ipcMain.handle(CHANNELS.saveFile, (event, file: unknown) => {
    refuseUntrusted(event);
    return saveFile(BrowserWindow.fromWebContents(event.sender), exportedFileSchema.parse(file));
  });
  ipcMain.handle(CHANNELS.chooseFolder, (event, title: unknown) => {
    refuseUntrusted(event);
    return chooseFolder(BrowserWindow.fromWebContents(event.sender), dialogTitleSchema.parse(title));
  });
}

/** Delivers an event to every window showing the app (never to a page that navigated elsewhere). */
export function broadcast(event: ApiEvent): void {
  for (const window of BrowserWindow.getAllWindows()) {
    const contents = window.webContents;
    if (!contents.isDestroyed() && isTrustedSender(contents.getURL(), true))
      contents.send(CHANNELS.event, event);
  }
}

/** Delivers an event to the focused app window (menu commands act on the window the user sees). */
export function sendToFocused(event: ApiEvent): void {
  const window = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  const contents = window?.webContents;
  if (contents && !contents.isDestroyed() && isTrustedSender(contents.getURL(), true)) {
    contents.send(CHANNELS.event, event);
  }
}
