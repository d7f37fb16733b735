/**
 * The desktop shell's security settings, as data with no side effects so tests can assert them.
 * Follows Electron's security checklist: the renderer is a sandboxed web page with no Node, it sees
 * only the preload's typed bridge, it is served from a privileged app scheme that exposes nothing but
 * the built renderer, and it may not navigate, open windows or ask for permissions.
 */
import type { CustomScheme, WebPreferences } from 'electron';

import { FILE_SCHEME } from '../common/api/bridge.ts';

/** The renderer's own origin: fusionscope-app://app/index.html. */
export const APP_SCHEME = 'fusionscope-app';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Registered before the app is ready. The app scheme is a standard, secure origin (so ES modules,
 * fetch and 'self' in the CSP behave as on https); the file scheme serves images only, with CORS so a
 * figure export may draw them on a canvas.
 */
export const PRIVILEGED_SCHEMES = [
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
  },
  {
    scheme: FILE_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true },
  },
] as const satisfies readonly CustomScheme[];

/** The window's webPreferences except the preload path (known only at run time). */
export const WINDOW_SECURITY = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
} as const satisfies WebPreferences;

/**
 * Whether an IPC message comes from our page: the main frame of a window showing the app origin.
 * Subframes (there are none, but a bug or injected content could add one) and other origins are refused.
 */
export function isTrustedSender(frameUrl: string | undefined, isMainFrame: boolean): boolean {
  if (!frameUrl || !isMainFrame) return false;
  try {
    // Compared part by part: WHATWG URL gives custom schemes an opaque ("null") origin outside Chromium.
    const url = new URL(frameUrl);
    return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** http(s) links leave the app for the OS browser; every other navigation is refused. */
export function isExternalLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
