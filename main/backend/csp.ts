/**
 * The renderer's Content Security Policy, sent as a header by the browser-mode server and by the
 * desktop shell. Its directives are those of renderer/index.html's meta tag (a test compares them)
 * plus what a meta tag cannot carry (`frame-ancestors`); the header also covers responses the meta tag
 * never sees. `fusionscope-file:` is the desktop shell's image scheme; it is inert in a browser.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: fusionscope-file:",
  // The figure export fetches images to inline them; in the desktop app they come from this scheme.
  "connect-src 'self' fusionscope-file:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Directives that only work as a header (browsers ignore them in a meta tag, with a console error). */
export const HEADER_ONLY_DIRECTIVES = ['frame-ancestors', 'report-uri', 'sandbox'] as const;

/**
 * Served files (dataset images, figures) get a policy of their own: nothing may run, even if one is an
 * SVG that a user opens directly in a tab.
 */
export const SERVED_FILE_POLICY =
  "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";
