/**
 * The wire protocol every transport speaks: a call is (method, params) → a result or an error with a
 * code; the backend pushes events (progress, job state, model loading) to every connected renderer.
 * `validateCall` is the single gate between untrusted messages and the backend.
 */
import type { z } from 'zod';

import { FusionError, type Result } from '../errors.ts';
import type { RunProgress } from '../runs.ts';
import { API_PARAMS, isApiMethod, type ApiMethod, type ApiParams } from './methods.ts';
import type { AppCommand, AppViewName } from './shell.ts';
import type { JobView, RecentView } from './types.ts';

export type ApiEvent =
  | { readonly type: 'job'; readonly job: JobView }
  | { readonly type: 'progress'; readonly jobId: number; readonly progress: RunProgress }
  | {
      readonly type: 'model-loading';
      readonly folder: string;
      readonly done: number;
      readonly total: number;
      readonly label: string;
    }
  // The remembered model folders and datasets changed (an open, an import, a removal).
  | { readonly type: 'recent'; readonly recent: RecentView }
  // From the desktop shell's menus (shell.ts); browser mode never sends these.
  | { readonly type: 'navigate'; readonly view: AppViewName }
  | { readonly type: 'command'; readonly command: AppCommand };

/** Every reply: `Result` (errors.ts); build failures with `errorToResult`, which keeps FusionError codes. */
export type ApiReply<T = unknown> = Result<T>;

/**
 * The longest text one issue adds to a refusal: zod's "Unrecognized keys" message lists every unknown
 * key, so a message with 20,000 of them would otherwise come back as a 180 kB error.
 */
const MAX_ISSUE_CHARS = 300;

function describeIssues(method: string, error: z.ZodError): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(params)';
    const text = `${where}: ${issue.message}`;
    return text.length > MAX_ISSUE_CHARS
      ? `${text.slice(0, MAX_ISSUE_CHARS)}… (${text.length} characters)`
      : text;
  });
  const more = error.issues.length > 5 ? `; …${error.issues.length - 5} more` : '';
  return `${method}: invalid parameters — ${lines.join('; ')}${more}`;
}

/** Checks an untrusted call; throws a BAD_REQUEST FusionError naming what is wrong. */
export function validateCall(method: unknown, params: unknown): { method: ApiMethod; params: unknown } {
  if (!isApiMethod(method)) {
    const shown = typeof method === 'string' ? `"${method.slice(0, 80)}"` : typeof method;
    throw new FusionError('BAD_REQUEST', `unknown API method ${shown}`);
  }
  const schema = API_PARAMS[method] as z.ZodType;
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) throw new FusionError('BAD_REQUEST', describeIssues(method, parsed.error));
  return { method, params: parsed.data as ApiParams<typeof method> };
}
