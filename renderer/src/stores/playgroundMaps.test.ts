import { describe, expect, it } from 'vitest';

import type { PlaygroundAnswer, PlaygroundResult } from '../../../main/common/api/index.ts';
import {
  bytesToBase64,
  chosenMaps,
  isEmptyMap,
  maskLabel,
  tokenLabel,
  validChoice,
} from './playgroundMaps.ts';

function answer(tokens: string[], mark: number): PlaygroundAnswer {
  return {
    text: tokens.join('').trim(),
    tokens: tokens.map((text, id) => ({ id, text, raw: text ? `▁${text.trim()}` : '</s>' })),
    stoppedBy: 'max_tokens',
    // [token][layer][cell]: the token index and layer written into the cells, so a mix-up shows.
    maps: tokens.map((_t, i) => [0, 1].map((l) => [mark + i, l])),
  };
}

const result = {
  answer: answer(['red', ' car'], 10),
  masked: answer(['blue'], 20),
} as unknown as PlaygroundResult;

describe('playground maps', () => {
  it('encodes bytes that decode back to themselves, across chunk boundaries', () => {
    const bytes = Uint8Array.from({ length: 0x8000 * 2 + 7 }, (_, i) => (i * 37) % 256);
    const decoded = Uint8Array.from(atob(bytesToBase64(bytes)), (c) => c.charCodeAt(0));
    expect(decoded).toEqual(bytes);
    expect(bytesToBase64(Uint8Array.of(0xfb, 0xff))).toBe('+/8=');
    expect(bytesToBase64(new Uint8Array())).toBe('');
  });

  it('reads the chosen token of the chosen answer', () => {
    expect(chosenMaps(result, { answer: 'answer', token: 1 })).toEqual([
      [11, 0],
      [11, 1],
    ]);
    expect(chosenMaps(result, { answer: 'masked', token: 0 })?.[1]).toEqual([20, 1]);
    expect(chosenMaps(result, { answer: 'masked', token: 1 })).toBeNull();
  });

  it('falls back to the first answer token when a new result lacks the choice', () => {
    expect(validChoice(result, { answer: 'answer', token: 1 })).toEqual({ answer: 'answer', token: 1 });
    expect(validChoice(result, { answer: 'masked', token: 3 })).toEqual({ answer: 'answer', token: 0 });
    const unmasked = { ...result, masked: null } as PlaygroundResult;
    expect(validChoice(unmasked, { answer: 'masked', token: 0 })).toEqual({ answer: 'answer', token: 0 });
  });

  it('labels tokens and masks', () => {
    expect(tokenLabel({ id: 5, text: ' car', raw: '▁car' })).toBe(' car');
    expect(tokenLabel({ id: 2, text: '', raw: '</s>' })).toBe('⟨</s>⟩');
    expect(tokenLabel({ id: 9, text: ' ', raw: '' })).toBe('⟨9⟩');
    expect(maskLabel({ mode: 'knockout', layers: [2, 3] })).toBe('knockout at layers 2, 3');
    expect(maskLabel({ mode: 'hidden', layers: [5], scale: 0.1 })).toBe('hidden × 0.1 at layer 5');
    expect(maskLabel({ mode: 'attention', layers: [1] })).toBe('attention × 0 at layer 1');
  });

  it('tells a map with no attention on the image', () => {
    expect(isEmptyMap([0, 0, 0])).toBe(true);
    expect(isEmptyMap([0, 1e-9, 0])).toBe(false);
  });
});
