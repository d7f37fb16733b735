/**
 * The model folders and datasets the app opened, newest first, remembered across restarts in
 * `<workspace>/app/recent.json` (beside appState.ts's files: the workspace is what a researcher keeps
 * and moves, and browser mode has no other place of its own). The file is a convenience: a damaged
 * one is set aside and the lists start empty, and a workspace that cannot be written keeps them in
 * memory; either way the notice says so and nothing else fails.
 */
import { renameSync } from 'node:fs';

import { z } from 'zod';

import type { RecentItem, RecentKind, RecentView } from '../common/api/index.ts';
import { readOptionalJsonFile } from '../engine/files/jsonFile.ts';
import { shownPath } from '../engine/files/messageText.ts';
import { writeJson } from './appState.ts';

/** Enough to find last week's models; a picker longer than this is a list no one reads. */
export const RECENT_LIMIT = 10;

const itemSchema = z.strictObject({
  path: z.string().min(1),
  name: z.string(),
  usedAt: z.iso.datetime(),
  options: z
    .strictObject({
      format: z.string().optional(),
      answers: z.string().optional(),
      images: z.string().optional(),
    })
    .optional(),
});

const fileSchema = z.strictObject({
  version: z.literal(1),
  models: z.array(itemSchema).max(RECENT_LIMIT),
  datasets: z.array(itemSchema).max(RECENT_LIMIT),
});

type Lists = Record<RecentKind, RecentItem[]>;

function message(error: unknown): string {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return `${issue.path.join('.') || 'the file'}: ${issue.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export class RecentItems {
  private notice: string | null = null;

  private constructor(
    private readonly file: string,
    private readonly lists: Lists,
    private readonly now: () => Date,
  ) {}

  /** Reads the file; a damaged one is moved to `<file>.damaged` (replacing an older one) with a notice. */
  static async open(file: string, now: () => Date = () => new Date()): Promise<RecentItems> {
    try {
      const saved = fileSchema.parse(
        (await readOptionalJsonFile(file)) ?? { version: 1, models: [], datasets: [] },
      );
      return new RecentItems(file, { model: saved.models, dataset: saved.datasets }, now);
    } catch (error) {
      const recent = new RecentItems(file, { model: [], dataset: [] }, now);
      const aside = `${file}.damaged`;
      let kept = `it was set aside as ${shownPath(aside)}`;
      try {
        renameSync(file, aside);
      } catch (renameError) {
        kept = `it could not be set aside either (${message(renameError)})`;
      }
      recent.notice = `The recent models and datasets list could not be read (${message(error)}); ${kept}, and the lists start empty.`;
      return recent;
    }
  }

  view(): RecentView {
    return { models: [...this.lists.model], datasets: [...this.lists.dataset], notice: this.notice };
  }

  /** Puts the item first in its list (once), keeping the newest RECENT_LIMIT. */
  touch(kind: RecentKind, item: Omit<RecentItem, 'usedAt'>): RecentView {
    const entry: RecentItem = { ...item, usedAt: this.now().toISOString() };
    this.lists[kind] = [entry, ...this.lists[kind].filter((old) => old.path !== item.path)].slice(
      0,
      RECENT_LIMIT,
    );
    this.save();
    return this.view();
  }

  /** Removes the item; true when it was listed. */
  forget(kind: RecentKind, path: string): boolean {
    const before = this.lists[kind].length;
    this.lists[kind] = this.lists[kind].filter((item) => item.path !== path);
    if (this.lists[kind].length === before) return false;
    this.save();
    return true;
  }

  private save(): void {
    try {
      writeJson(this.file, { version: 1, models: this.lists.model, datasets: this.lists.dataset });
    } catch (error) {
      // A read-only workspace still runs analyses; the lists last until the app quits.
      this.notice = `The recent models and datasets list could not be saved (${message(error)}); it lasts until the app quits.`;
    }
  }
}
