/**
 * What the CLI writes to the terminal, made inert. Error messages and progress lines carry text from
 * files (paths, dataset fields, model configs) and from other processes (the host that owns a run, read
 * from the workspace); a NUL, an ESC sequence, a carriage return or a bidi override in that text would
 * otherwise reach the terminal raw and could rewrite what the user sees. The escaping itself is
 * messageText's `printable`; this module only decides what a line is, and never cuts text short.
 */
import { printable } from '../../../native-models/files/messageText.ts';

const WHOLE = Number.POSITIVE_INFINITY;

/** One line: every control character escaped, newlines included. */
export function terminalLine(text: string): string {
  return printable(text, WHOLE);
}

/** A message that may span lines: its line breaks kept, every other control character escaped. */
export function terminalLines(text: string): string {
  return text.split('\n').map(terminalLine).join('\n');
}
