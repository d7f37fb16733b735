/** Where the e2e run finds its tools and leaves its artifacts. */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM_PATH = process.env.FUSIONSCOPE_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of every view, kept as test artifacts (and copied to docs/screenshots by `npm run screenshots`). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url));
export const DOWNLOAD_DIR = fileURLToPath(new URL('../artifacts/downloads/', import.meta.url));
