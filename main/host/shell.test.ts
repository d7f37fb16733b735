/**
 * The desktop shell's decisions that need no Electron to check: the window's security settings, which
 * IPC senders are trusted, where links may go, the menu's items and the events they send, and the
 * checks on what the renderer hands the dialogs.
 */
import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';

import { APP_VIEWS, FILE_SCHEME, type ApiEvent } from '../common/api/index.ts';
import { CONTENT_SECURITY_POLICY } from '../backend/csp.ts';
import { CHANNELS } from './channels.ts';
import { menuTemplate } from './menu.ts';
import {
  APP_ENTRY_URL,
  APP_SCHEME,
  isExternalLink,
  isTrustedSender,
  PRIVILEGED_SCHEMES,
  WINDOW_SECURITY,
} from './security.ts';
import { exportedFileSchema, safeFileName, saveFilters } from './validate.ts';

describe('window security', () => {
  it('isolates and sandboxes the renderer, with no Node anywhere', () => {
    expect(WINDOW_SECURITY).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('registers the app and file schemes as secure standard schemes', () => {
    expect(PRIVILEGED_SCHEMES.map((entry) => entry.scheme)).toEqual([APP_SCHEME, FILE_SCHEME]);
    for (const entry of PRIVILEGED_SCHEMES)
      expect(entry.privileges).toMatchObject({ standard: true, secure: true });
    expect(APP_ENTRY_URL).toBe('fusionscope-app://app/index.html');
  });

  it('lets the page show images from the file scheme and fetch them (figure export inlines them)', () => {
    const directive = (name: string) =>
      CONTENT_SECURITY_POLICY.split(';')
        .map((part) => part.trim().split(/\s+/))
        .find(([key]) => key === name)
        ?.slice(1);
    expect(directive('img-src')).toContain(`${FILE_SCHEME}:`);
    expect(directive('connect-src')).toContain(`${FILE_SCHEME}:`);
    expect(directive('script-src')).toEqual(["'self'"]);
  });

  it('trusts IPC only from the main frame of the app origin', () => {
    expect(isTrustedSender(APP_ENTRY_URL, true)).toBe(true);
    expect(isTrustedSender(`${APP_ENTRY_URL}#/runs?run=3`, true)).toBe(true);
    expect(isTrustedSender(APP_ENTRY_URL, false)).toBe(false);
    for (const url of [
      'fusionscope-app://evil/index.html',
      'fusionscope-app://user@app/index.html',
      'https://app/index.html',
      'file:///home/user/renderer/dist/index.html',
      `${FILE_SCHEME}://local/x.png`,
      'about:blank',
      '',
      undefined,
    ]) {
      expect(isTrustedSender(url, true), String(url)).toBe(false);
    }
  });

  it('lets only http(s) links out, to the OS browser', () => {
    expect(isExternalLink('https://arxiv.org/abs/2404.00000')).toBe(true);
    expect(isExternalLink('http://example.org')).toBe(true);
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'fusionscope-app://app/x', 'not a url']) {
      expect(isExternalLink(url), url).toBe(false);
    }
  });

  it('spells four distinct IPC channels', () => {
    expect(new Set(Object.values(CHANNELS)).size).toBe(4);
  });
});

describe('menu', () => {
  function build(platform: NodeJS.Platform, devTools = false) {
    const sent: ApiEvent[] = [];
    let about = 0;
    const template = menuTemplate(
      { send: (event) => sent.push(event), about: () => (about += 1) },
      {
        platform,
        devTools,
      },
    );
    const items = (label: string) =>
      (template.find((menu) => menu.label === label || menu.role === label)?.submenu ??
        []) as MenuItemConstructorOptions[];
    const click = (item: MenuItemConstructorOptions | undefined) =>
      (item?.click as (() => void) | undefined)?.();
    return { template, sent, items, click, about: () => about };
  }

  it('File items become commands the renderer carries out', () => {
    const { items, click, sent } = build('linux');
    const file = items('&File');
    for (const label of ['Open Model Folder…', 'Import Dataset…', 'Export Report…']) {
      click(file.find((item) => item.label === label));
    }
    expect(sent).toEqual([
      { type: 'command', command: 'open-model' },
      { type: 'command', command: 'import-dataset' },
      { type: 'command', command: 'export-report' },
    ]);
    expect(file.at(-1)?.role).toBe('quit');
  });

  it('View has one item per renderer view, in order, each navigating there', () => {
    const { items, click, sent } = build('win32');
    const views = items('&View').filter((item) => item.click);
    expect(views.map((item) => item.label)).toEqual(APP_VIEWS.map((view) => view.title));
    views.forEach(click);
    expect(sent).toEqual(APP_VIEWS.map((view) => ({ type: 'navigate', view: view.name })));
    expect(new Set(views.map((item) => item.accelerator)).size).toBe(views.length);
  });

  it('Help → About is the host’s; developer tools only when asked', () => {
    const { items, click, about } = build('darwin');
    click(items('help').find((item) => item.label === 'About FusionScope'));
    expect(about()).toBe(1);
    expect(items('&View').some((item) => item.role === 'toggleDevTools')).toBe(false);
    expect(
      build('darwin', true)
        .items('&View')
        .some((item) => item.role === 'toggleDevTools'),
    ).toBe(true);
    expect(build('darwin').template[0].role).toBe('appMenu');
  });
});

describe('dialog requests', () => {
  it('suggest a bare, portable file name', () => {
    expect(safeFileName('fusion-curve.png')).toBe('fusion-curve.png');
    expect(safeFileName('../../.bashrc')).toBe('bashrc');
    expect(safeFileName('C:\\Windows\\evil.exe')).toBe('evil.exe');
    expect(safeFileName('a<b>:c?.csv')).toBe('a_b__c_.csv');
    expect(safeFileName('...')).toBe('export');
    expect(saveFilters('report.zip')).toEqual([{ name: 'ZIP', extensions: ['zip'] }]);
    expect(saveFilters('noext')).toEqual([]);
  });

  it('accept an ExportedFile and nothing else', () => {
    expect(
      exportedFileSchema.safeParse({ fileName: 'a.png', mime: 'image/png', base64: 'AAE=' }).success,
    ).toBe(true);
    for (const bad of [
      { fileName: 'a.png', mime: 'image/png', base64: 'not base64!' },
      { fileName: '', mime: 'image/png', base64: '' },
      { fileName: 'a.png', mime: 'image/png', base64: '', extra: 1 },
      'a.png',
    ]) {
      expect(exportedFileSchema.safeParse(bad).success).toBe(false);
    }
  });
});
