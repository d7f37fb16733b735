/**
 * The folder each model's report gets when one report covers several models (`fusionscope analyze
 * --model A,B`): OUT/<slug>/ beside OUT/compare/. A slug is the model folder's name, or for a Hugging
 * Face cache snapshot (…/models--org--name/snapshots/<commit>) the repo's name, so it reads as the
 * model the user named; lower case, anything but letters, digits, '.', '_' and '-' made '-'. Models
 * whose names collide (two checkpoints each in a folder called `model`) take their parent folder's name
 * (a hub model: its organisation's) in front (`llava-model`, `qwen-model`); what still collides, and
 * `compare`, is numbered (-2, -3…).
 */
import { basename, dirname } from 'node:path';

/** What a slug is made from: the resolved model (resolveModelFolder's answer). */
export interface SluggedModel {
  readonly folder: string;
  readonly hub: { readonly repoId: string } | null;
}

/** The comparison's own folder: no model may take it. */
export const COMPARE_FOLDER = 'compare';

function clean(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return slug || 'model';
}

const nameOf = (model: SluggedModel) =>
  model.hub ? (model.hub.repoId.split('/').pop() ?? model.hub.repoId) : basename(model.folder);

/** One unique, readable folder name per model, in the models' order. */
export function modelSlugs(models: readonly SluggedModel[]): string[] {
  const names = models.map((m) => clean(nameOf(m)));
  const shared = (name: string) => names.filter((n) => n === name).length > 1;
  const withParent = models.map((m, i) => {
    if (!shared(names[i])) return names[i];
    return clean(m.hub ? m.hub.repoId.replace('/', '-') : `${basename(dirname(m.folder))}-${names[i]}`);
  });
  const taken = new Set([COMPARE_FOLDER]);
  return withParent.map((name) => {
    let slug = name;
    for (let n = 2; taken.has(slug); n++) slug = `${name}-${n}`;
    taken.add(slug);
    return slug;
  });
}
