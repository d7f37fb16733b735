/**
 * The Electron main process: one window showing the renderer from the app scheme, the backend (its
 * engine runs in a worker thread, so this thread only routes messages), IPC, menus and dialogs.
 * Bundled by scripts/build-host.mjs into out/host/main.js; `__dirname` below is out/host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  app,
  BrowserWindow,
  dialog,
  Menu,
  nativeTheme,
  protocol,
  screen,
  session,
  shell,
  type WebContents,
} from 'electron';

import { writeJson } from '../backend/appState.ts';
import { createBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { CONTENT_SECURITY_POLICY } from '../backend/csp.ts';
import { showAbout } from './dialogs.ts';
import { broadcast, registerIpc, sendToFocused } from './ipc.ts';
import { menuTemplate } from './menu.ts';
import { registerProtocols } from './protocols.ts';
import {
  APP_ENTRY_URL,
  APP_ORIGIN,
  isExternalLink,
  PRIVILEGED_SCHEMES,
  WINDOW_SECURITY,
} from './security.ts';
import {
  MIN_SIZE,
  parseWindowState,
  placeWindow,
  trackWindowState,
  type WindowState,
} from './windowState.ts';

const RENDERER_DIR = join(__dirname, '..', '..', 'renderer', 'dist');
const PRELOAD = join(__dirname, 'preload.js');
const ENGINE_WORKER = pathToFileURL(join(__dirname, 'engineWorker.js'));
/** Packed beside out/host (electron-builder.yml `files`); Linux shows it in the title bar and task switcher. */
const WINDOW_ICON = join(__dirname, '..', '..', 'build', 'icons', 'png', '512x512.png');

/** FUSIONSCOPE_WORKSPACE (tests, power users) or a folder in the app's data directory. */
const workspace = process.env.FUSIONSCOPE_WORKSPACE || join(app.getPath('userData'), 'workspace');

let mainWindow: BrowserWindow | null = null;

function windowStateFile(): string {
  return join(app.getPath('userData'), 'window-state.json');
}

function readWindowState(): WindowState | null {
  try {
    return parseWindowState(readFileSync(windowStateFile(), 'utf8'));
  } catch {
    return null; // no file yet, or unreadable: the window opens as new
  }
}

function saveWindowState(state: WindowState): void {
  try {
    writeJson(windowStateFile(), state);
  } catch (error) {
    console.error(`FusionScope: the window's size and position were not saved: ${(error as Error).message}`);
  }
}

function createWindow(): BrowserWindow {
  const placement = placeWindow(
    readWindowState(),
    screen.getAllDisplays().map((display) => display.workArea),
    screen.getPrimaryDisplay().workArea,
  );
  const window = new BrowserWindow({
    ...placement.bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    // The page's own background in either colour scheme, so opening never flashes the other one.
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#15181e' : '#f5f6f8',
    title: 'FusionScope',
    ...(process.platform === 'linux' && existsSync(WINDOW_ICON) ? { icon: WINDOW_ICON } : {}),
    webPreferences: { ...WINDOW_SECURITY, preload: PRELOAD },
  });
  if (placement.maximized) window.maximize();
  if (placement.fullScreen) window.setFullScreen(true);
  trackWindowState(window, saveWindowState);
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => (mainWindow = null));
  void window.loadURL(APP_ENTRY_URL);
  return window;
}

/** Applies to every webContents: no navigation away from the app, no new windows, no webviews. */
function harden(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    if (isExternalLink(url)) void shell.openExternal(url);
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // The app scheme's responses carry the CSP already; this also covers any response it does not make.
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = details.responseHeaders ?? {};
    if (details.url.startsWith(`${APP_ORIGIN}/`))
      headers['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
    callback({ responseHeaders: headers });
  });
}

function startBackend(): Promise<Backend> {
  const backend = createBackend({ workspace, mode: 'electron', engineWorker: ENGINE_WORKER });
  backend.then(
    (ready) => ready.onEvent(broadcast),
    (error: unknown) => {
      dialog.showErrorBox('FusionScope cannot start', error instanceof Error ? error.message : String(error));
      app.exit(1);
    },
  );
  return backend;
}

async function main(): Promise<void> {
  await app.whenReady();
  hardenSession();
  const backend = startBackend();
  registerProtocols(backend, RENDERER_DIR);
  registerIpc(backend);
  const devTools = !app.isPackaged;
  const actions = { send: sendToFocused, about: () => void showAbout(mainWindow, workspace) };
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(menuTemplate(actions, { platform: process.platform, devTools })),
  );
  mainWindow = createWindow();

  app.on('activate', () => {
    if (!mainWindow) mainWindow = createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Running jobs are cancelled (they stay resumable) and the workspace is closed before exiting.
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    closed = true;
    backend
      .then((ready) => ready.close())
      .catch(() => undefined)
      .finally(() => app.quit());
  });
}

protocol.registerSchemesAsPrivileged([...PRIVILEGED_SCHEMES]);
app.enableSandbox();
app.on('web-contents-created', (_event, contents) => harden(contents));

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  main().catch((error: unknown) => {
    dialog.showErrorBox(
      'FusionScope cannot start',
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    app.exit(1);
  });
}
