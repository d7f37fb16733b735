/**
 * native-models/files/messageText.ts for the layers above the engine, which reach native-models only
 * through it: file-derived text in messages quoted, escaped and clipped the same way everywhere.
 */
export { printable, quoted, shownPath } from '../../../native-models/files/messageText.ts';
