/**
 * The native menu as data (no Electron import at run time, so tests can read it). File items and the
 * View list become ApiEvents the renderer carries out (main/common/api/shell.ts); About is the host's.
 */
import type { MenuItemConstructorOptions } from 'electron';

import { APP_VIEWS, type ApiEvent, type AppCommand } from '../common/api/index.ts';

export interface MenuActions {
  /** Sends an event to the focused app window. */
  send(event: ApiEvent): void;
  about(): void;
}

export function menuTemplate(
  actions: MenuActions,
  options: { platform: NodeJS.Platform; devTools: boolean },
): MenuItemConstructorOptions[] {
  const mac = options.platform === 'darwin';
  const command = (command: AppCommand) => () => actions.send({ type: 'command', command });
  const views: MenuItemConstructorOptions[] = APP_VIEWS.map((view, index) => ({
    label: view.title,
    accelerator: `CmdOrCtrl+${index + 1}`,
    click: () => actions.send({ type: 'navigate', view: view.name }),
  }));
  const developer: MenuItemConstructorOptions[] = options.devTools
    ? [{ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }]
    : [];
  return [
    ...(mac ? [{ role: 'appMenu' } as const] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Model Folder…', accelerator: 'CmdOrCtrl+O', click: command('open-model') },
        { label: 'Import Dataset…', accelerator: 'CmdOrCtrl+I', click: command('import-dataset') },
        { type: 'separator' },
        { label: 'Export Report…', accelerator: 'CmdOrCtrl+E', click: command('export-report') },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        ...views,
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...developer,
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: 'About FusionScope', click: () => actions.about() }] },
  ];
}
