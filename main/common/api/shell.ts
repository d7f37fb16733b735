/**
 * What the desktop shell's native menus ask of the renderer, delivered as ApiEvents on the same event
 * stream as backend events. The renderer carries them out itself (it owns the state: which run is
 * selected, which store to refresh), so a menu item and the matching button do the same thing.
 */

/** The renderer's views in menu order: the desktop View menu and the router list the same names. */
export const APP_VIEWS = [
  { name: 'models', title: 'Models' },
  { name: 'datasets', title: 'Datasets' },
  { name: 'fusion', title: 'Fusion' },
  { name: 'attention', title: 'Attention' },
  { name: 'contrastive', title: 'Contrastive' },
  { name: 'compare', title: 'Compare' },
  { name: 'layers', title: 'Layers' },
  { name: 'runs', title: 'Runs' },
  { name: 'playground', title: 'Playground' },
] as const;
export type AppViewName = (typeof APP_VIEWS)[number]['name'];

/** Menu commands: open-model and import-dataset start the renderer's own flows; export-report exports the selected run's report. */
export const APP_COMMANDS = ['open-model', 'import-dataset', 'export-report'] as const;
export type AppCommand = (typeof APP_COMMANDS)[number];
