/**
 * The renderer's Content Security Policy, sent as a header by the browser-mode server and by the
 * desktop shell. It must say exactly what renderer/index.html's meta tag says (a test compares them):
 * the header adds what a meta tag cannot carry (frame-ancestors) and covers responses the meta tag
 * never sees. `fusionscope-file:` is the desktop shell's image scheme; it is inert in a browser.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: fusionscope-file:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Served files (dataset images, figures) get a policy of their own: nothing may run, even if one is an
 * SVG that a user opens directly in a tab.
 */
export const SERVED_FILE_POLICY =
  "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";
