/**
 * The Playground's pure parts: the image's bytes as the API's base64, which answer token's maps the
 * overlay draws, and the labels of tokens and masks. Kept out of the store so they test without Vue.
 */
import type {
  PlaygroundAnswer,
  PlaygroundMask,
  PlaygroundResult,
  PlaygroundToken,
} from '../../../main/common/api/index.ts';

/** Which answer (unmasked or masked) and which of its generated tokens the overlay shows. */
export interface TokenChoice {
  readonly answer: 'answer' | 'masked';
  readonly token: number;
}

/** btoa over chunks: String.fromCharCode(...bytes) on megabytes would overflow the call stack. */
export function bytesToBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000;
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

export function answerOf(result: PlaygroundResult, answer: TokenChoice['answer']): PlaygroundAnswer | null {
  return answer === 'masked' ? result.masked : result.answer;
}

/** The chosen token's maps, [layer][cell], or null when the choice names no token of the result. */
export function chosenMaps(
  result: PlaygroundResult,
  choice: TokenChoice,
): readonly (readonly number[])[] | null {
  return answerOf(result, choice.answer)?.maps[choice.token] ?? null;
}

/** A choice that exists in `result`: kept when it does, else the unmasked answer's first token. */
export function validChoice(result: PlaygroundResult, choice: TokenChoice): TokenChoice {
  return chosenMaps(result, choice) ? choice : { answer: 'answer', token: 0 };
}

/** The token as shown: its text, or its vocabulary entry in angle brackets when it adds no text. */
export function tokenLabel(token: PlaygroundToken): string {
  return token.text.trim() === '' ? `⟨${token.raw || token.id}⟩` : token.text;
}

/** "knockout at layers 2, 3", "hidden × 0.1 at layer 5". */
export function maskLabel(mask: PlaygroundMask): string {
  const layers = `layer${mask.layers.length > 1 ? 's' : ''} ${mask.layers.join(', ')}`;
  return mask.mode === 'knockout'
    ? `knockout at ${layers}`
    : `${mask.mode} × ${mask.scale ?? 0} at ${layers}`;
}

/** True when a map gives the image no attention at all (a knocked-out layer): nothing to renormalise. */
export function isEmptyMap(map: readonly number[]): boolean {
  return !map.some((v) => v > 0);
}
