/**
 * Which process owns a 'running' run, and whether its claim on the run still holds. A run whose owner
 * died (crash, kill -9, power loss) or stopped beating is 'interrupted' and may be taken over; one whose
 * owner lives must not be resumed by anyone else, or two processes would compute the same items.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Owner {
  readonly pid: number;
  readonly host: string;
  /** The process start time from /proc (Linux); tells a live owner from a later process given its pid. */
  readonly start: string | null;
}

/** An owner's hold on one run, as stored in its row. */
export interface StoredClaim {
  readonly owner: Owner;
  /** Random per claim: tells this claim from an earlier or later one of the same process. */
  readonly token: string | null;
  /** The owner's last sign of life, ms since the epoch. */
  readonly heartbeatAt: number;
}

/** How often a runner refreshes its claim while it computes. */
export const HEARTBEAT_MS = 5_000;

/**
 * A claim not refreshed for this long is dead even if its process lives: the runner is hung, or it runs
 * on another host where its pid cannot be checked. Generous next to HEARTBEAT_MS, so a busy event loop
 * or a slow disk never loses a claim that is still being worked on.
 */
export const STALE_AFTER_MS = 60_000;

interface ProcStat {
  readonly state: string;
  readonly start: string;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // proc(5): field 3 is the state, field 22 the start time; fields[0] is field 3.
    return { state: fields[0], start: fields[19] };
  } catch {
    return null;
  }
}

let self: Owner | undefined;

export function currentOwner(): Owner {
  self ??= { pid: process.pid, host: hostname(), start: procStat(process.pid)?.start ?? null };
  return self;
}

export function sameOwner(a: Owner, b: Owner): boolean {
  return a.pid === b.pid && a.host === b.host && a.start === b.start;
}

/**
 * false only when the owner is certainly gone. An owner on another host (a workspace on a shared
 * drive) cannot be checked from here and counts as alive.
 */
export function ownerAlive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(owner.pid);
  if (stat === null) return true; // no /proc (macOS, Windows): trust kill(0)
  if (stat.state === 'Z' || stat.state === 'X') return false; // exited, not yet reaped
  return owner.start === null || stat.start === owner.start;
}

/**
 * Tokens of the claims a runner in this process is working on. Another process can only check that we
 * are alive; this process also knows whether the runner that took the claim is still running, so a run
 * left 'running' by a runner that died inside a live process (the app's engine) is taken over at once.
 */
const heldHere = new Set<string>();

export function holdClaim(token: string): void {
  heldHere.add(token);
}

export function dropClaim(token: string | null): void {
  if (token !== null) heldHere.delete(token);
}

/** Whether the claim still holds: its owner lives, its runner (if in this process) runs, it beats. */
export function claimLive(claim: StoredClaim, now = Date.now()): boolean {
  if (now - claim.heartbeatAt > STALE_AFTER_MS) return false;
  if (sameOwner(claim.owner, currentOwner())) return claim.token === null || heldHere.has(claim.token);
  return ownerAlive(claim.owner);
}
