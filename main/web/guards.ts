/**
 * The checks every browser-mode request passes before it reaches the backend:
 *
 * - the access token (printed once with the URL), compared in constant time;
 * - the Host header, which must name this server by a loopback name (or the address it was
 *   explicitly bound to): a DNS-rebinding page reaches 127.0.0.1 under its own host name and is
 *   refused here;
 * - the Origin header of state-changing requests (POST, WebSocket upgrade), which must be this
 *   server's own origin: a page on another site cannot drive the API even if it learned the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { networkInterfaces } from 'node:os';

/** Constant-time comparison; hashing first makes the time independent of both lengths too. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function hostLiteral(address: string): string {
  return address.includes(':') ? `[${address}]` : address.toLowerCase();
}

/**
 * The `host:port` values a request may carry in its Host header: the loopback names, plus the bound
 * address when it is a specific one, plus every interface address when bound to a wildcard.
 */
export function allowedHosts(boundHost: string, port: number): ReadonlySet<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (WILDCARDS.has(boundHost)) {
    for (const list of Object.values(networkInterfaces())) {
      for (const entry of list ?? []) names.add(hostLiteral(entry.address));
    }
  } else {
    names.add(hostLiteral(boundHost));
  }
  return new Set([...names].map((name) => `${name}:${port}`));
}

export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  return hostHeader !== undefined && allowed.has(hostHeader.toLowerCase());
}

/**
 * Same-origin check for POST and WebSocket upgrades. Browsers always send Origin on both; a missing
 * Origin means a non-browser client (curl, a test), which the token alone authorises.
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  return hostHeader !== undefined && origin.toLowerCase() === `http://${hostHeader.toLowerCase()}`;
}
