/**
 * Where the job queue lives: a Redis URL as users write it (`redis://[user:pass@]host:port[/db]`,
 * `rediss://` for TLS), read into connection options, and shown back without its password. A password
 * may also come from FUSIONSCOPE_QUEUE_PASSWORD, so it stays out of shell history and process listings.
 */
import { FusionError } from '../../common/errors.ts';

export interface QueueAddress {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** rediss://: TLS, verified against the system's CAs (NODE_EXTRA_CA_CERTS adds a private CA). */
  readonly tls: boolean;
  /** The URL with the password replaced by ***: for logs, progress lines and the app. */
  readonly shown: string;
}

export const DEFAULT_REDIS_PORT = 6379;
export const PASSWORD_ENV = 'FUSIONSCOPE_QUEUE_PASSWORD';

/** The text as given, a password in it replaced by ***: what error messages may quote. */
function redacted(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^/@:]*:)[^@/]*@/i, '$1***@').slice(0, 200);
}

export function parseQueueAddress(text: string, env: NodeJS.ProcessEnv = process.env): QueueAddress {
  const bad = (why: string) =>
    new FusionError(
      'BAD_ARGUMENT',
      `queue ${JSON.stringify(redacted(text))}: ${why} (expected redis://[user:password@]host:port[/db], or rediss:// for TLS)`,
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw bad(`scheme ${url.protocol} is not redis: or rediss:`);
  if (!url.hostname) throw bad('no host');
  if (url.search || url.hash) throw bad('query and fragment are not read; give TLS with rediss://');
  const port = url.port ? Number(url.port) : DEFAULT_REDIS_PORT;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw bad(`database "${path}" is not a number 0-99`);
  const db = path === '' ? 0 : Number(path);
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw bad('user or password is not valid percent-encoding');
    }
  };
  const username = url.username ? decode(url.username) : undefined;
  const password = url.password ? decode(url.password) : env[PASSWORD_ENV] || undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const who =
    username !== undefined || password !== undefined
      ? `${username ?? ''}${password !== undefined ? ':***' : ''}@`
      : '';
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: url.protocol === 'rediss:',
    shown: `${url.protocol}//${who}${shownHost}:${port}${db ? `/${db}` : ''}`,
  };
}
