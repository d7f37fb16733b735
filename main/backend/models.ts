/**
 * The models the app has opened: views by id (the absolute checkpoint folder; a Hugging Face cache
 * snapshot for a hub id), loads in flight, and how each was asked to load (a worker restarted after a
 * crash reloads a model on its next job).
 */
import { basename, resolve } from 'node:path';

import type { ModelView } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import { DEMO_MODEL_DIR } from '../engine/demo.ts';
import { resolveModelFolder } from '../engine/model/resolveModelFolder.ts';
import type { ProviderRequest } from '../engine/runtime/providers.ts';
import type { Precision } from '../engine/model/precision.ts';
import type { EngineClient } from './engineClient.ts';
import type { ModelFacts } from './workerProtocol.ts';

const DEMO_ID = resolve(DEMO_MODEL_DIR);

export function modelView(id: string, facts: ModelFacts): ModelView {
  const { info } = facts;
  const isDemo = id === DEMO_ID;
  // Runs recorded before hub snapshots were told apart carry no `hub`.
  const hub = info.hub ?? null;
  const folderName = basename(id) === 'model' ? basename(resolve(id, '..')) : basename(id);
  return {
    id,
    folder: id,
    hub,
    // A snapshot's folder is named by its commit; the repo id is what the user knows it by.
    name: isDemo ? 'demo' : hub ? hub.repoId : folderName,
    isDemo,
    modelType: info.modelType,
    weightsDtype: info.weightsDtype,
    parameterCount: info.parameterCount,
    precision: info.precision,
    memoryBytes: info.storedWeightBytes,
    executionProvider: info.executionProvider,
    providerFallbacks: info.providerFallbacks,
    layers: facts.layers,
    heads: facts.heads,
    hiddenSize: facts.hiddenSize,
    imageTokensPerImage: info.imageTokensPerImage,
    imageGrid: info.imageGrid,
    imageTokenScheme: info.imageTokenScheme,
    summary: info.summary,
  };
}

/** How a model is loaded: where it runs, how its weights are stored, which hub revision it is. */
export interface ModelLoad {
  readonly provider: ProviderRequest;
  readonly precision: Precision;
  /** The hub revision a cache snapshot was resolved from (recorded with the model's runs). */
  readonly revision?: string;
}

interface Entry {
  readonly load: ModelLoad;
  /** Settles once loaded; a failed load removes the entry. */
  readonly ready: Promise<ModelView>;
  view?: ModelView;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly engine: EngineClient,
    private readonly defaults: ModelLoad,
  ) {}

  /**
   * Opens (or returns the open) model `folder` names: a model folder (or a project folder with the
   * checkpoint in model/), a Hugging Face cache folder or a hub id, at `requested.revision`.
   */
  async open(folder: string, requested: Partial<ModelLoad> = {}): Promise<ModelView> {
    const { folder: id, hub } = await resolveModelFolder(folder, { revision: requested.revision });
    const existing = this.entries.get(id);
    if (existing) return existing.ready;
    const load: ModelLoad = {
      provider: requested.provider ?? this.defaults.provider,
      precision: requested.precision ?? this.defaults.precision,
      revision: hub?.revision,
    };
    const entry: Entry = {
      load,
      ready: this.engine.request({ type: 'openModel', folder: id, ...load }).then(
        (facts) => {
          entry.view = modelView(id, facts);
          return entry.view;
        },
        (error: unknown) => {
          this.entries.delete(id);
          throw error;
        },
      ),
    };
    this.entries.set(id, entry);
    return entry.ready;
  }

  /** Resolves once no load is in flight (stopping the worker mid-load aborts inside ONNX Runtime). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.entries.values()].map((e) => e.ready));
  }

  /** Every model opened or being opened (waits for loads in flight; failed loads are left out). */
  async list(): Promise<ModelView[]> {
    await this.settled();
    return [...this.entries.values()].flatMap((e) => (e.view ? [e.view] : []));
  }

  /** The open model `id` (waiting for its load); NOT_FOUND when it was never opened. */
  async get(id: string): Promise<ModelView> {
    const entry = this.entries.get(id);
    if (!entry) throw new FusionError('NOT_FOUND', `no open model ${JSON.stringify(id)}: open it first`);
    return entry.ready;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  loadOf(id: string): ModelLoad {
    return this.entries.get(id)?.load ?? this.defaults;
  }

  /** Forgets the model here and releases its sessions in the worker. */
  async close(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) throw new FusionError('NOT_FOUND', `no open model ${JSON.stringify(id)}`);
    await entry.ready.catch(() => undefined);
    await this.engine.request({ type: 'closeModel', folder: id });
    this.entries.delete(id);
    return true;
  }

  /** Folders the app may serve files from. */
  folders(): string[] {
    return [...this.entries.keys()];
  }
}
