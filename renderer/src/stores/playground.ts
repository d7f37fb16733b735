/**
 * The Playground's state: the image (read here once, sent as base64; the backend decides whether it is
 * one), the question and generation settings, the optional mask, the last answer, and which generated
 * token and layer the overlay shows. Questions go to the selected model (models store).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';

import {
  DEFAULT_PLAYGROUND_NEW_TOKENS,
  MAX_PLAYGROUND_IMAGE_BYTES,
  type PlaygroundMask,
  type PlaygroundResult,
} from '../../../main/common/api/index.ts';
import type { InterventionMode } from '../../../main/common/interventions.ts';
import { useTransport } from '../api/index.ts';
import { errorText } from './app.ts';
import { useModelsStore } from './models.ts';
import { bytesToBase64, validChoice, type TokenChoice } from './playgroundMaps.ts';

export interface PlaygroundImage {
  readonly name: string;
  readonly size: number;
  readonly base64: string;
  /**
   * An object URL of the file for the thumbnail before an answer (the answer brings the engine's
   * preview); null unless the file says it is an image a browser shows, since Chromium reports a
   * blob that fails as an image as a CSP violation.
   */
  readonly url: string | null;
}

const SHOWN_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/avif'];

export const usePlaygroundStore = defineStore('playground', () => {
  const transport = useTransport();
  const models = useModelsStore();

  const image = shallowRef<PlaygroundImage | null>(null);
  const question = ref('');
  const maxNewTokens = ref(DEFAULT_PLAYGROUND_NEW_TOKENS);
  const maskOn = ref(false);
  const maskMode = ref<InterventionMode>('knockout');
  const maskLayers = ref<number[]>([]);
  const maskScale = ref(0);

  const result = shallowRef<PlaygroundResult | null>(null);
  const asking = ref(false);
  const error = ref<string | null>(null);
  const choice = ref<TokenChoice>({ answer: 'answer', token: 0 });
  const layer = ref(0);

  const mask = computed<PlaygroundMask | null>(() => {
    if (!maskOn.value) return null;
    const layers = [...maskLayers.value].sort((a, b) => a - b);
    return maskMode.value === 'knockout'
      ? { mode: 'knockout', layers }
      : { mode: maskMode.value, layers, scale: maskScale.value };
  });

  /** Why Ask is disabled, or null when it is not. */
  const blocked = computed(() => {
    if (!models.selected) return 'Open a model first (Models view).';
    if (!image.value) return 'Choose, drop or paste an image.';
    if (!question.value.trim()) return 'Type a question.';
    if (mask.value && !mask.value.layers.length)
      return 'Choose at least one layer to mask, or untick masking.';
    return null;
  });

  async function setImage(file: File): Promise<void> {
    error.value = null;
    if (file.size > MAX_PLAYGROUND_IMAGE_BYTES) {
      error.value = `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; the Playground takes images up to ${MAX_PLAYGROUND_IMAGE_BYTES / 2 ** 20} MiB`;
      return;
    }
    const base64 = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
    if (image.value?.url) URL.revokeObjectURL(image.value.url);
    const url = SHOWN_TYPES.includes(file.type) ? URL.createObjectURL(file) : null;
    image.value = { name: file.name || 'pasted image', size: file.size, base64, url };
    result.value = null;
  }

  async function ask(): Promise<void> {
    const model = models.selected;
    if (blocked.value || !model || !image.value) return;
    asking.value = true;
    error.value = null;
    try {
      const answer = await transport.call('askImage', {
        modelId: model.id,
        image: { base64: image.value.base64, name: image.value.name },
        question: question.value.trim(),
        maxNewTokens: maxNewTokens.value,
        ...(mask.value ? { mask: { ...mask.value, layers: [...mask.value.layers] } } : {}),
      });
      // The first answer opens at the last layer; later ones keep the layer being looked at.
      if (result.value === null || layer.value >= answer.layers) layer.value = answer.layers - 1;
      result.value = answer;
      choice.value = validChoice(answer, choice.value);
    } catch (e) {
      error.value = errorText(e);
    } finally {
      asking.value = false;
    }
  }

  function choose(next: TokenChoice): void {
    if (result.value) choice.value = validChoice(result.value, next);
  }

  return {
    image,
    question,
    maxNewTokens,
    maskOn,
    maskMode,
    maskLayers,
    maskScale,
    mask,
    blocked,
    result,
    asking,
    error,
    choice,
    layer,
    setImage,
    ask,
    choose,
  };
});
