/**
 * The OS colour scheme (prefers-color-scheme), followed live, and the colours the app's figures draw
 * with. The page's own colours follow through styles.css alone; charts and SVG figures spell colours
 * out (they are exported), so they read the scheme here. Exports draw the light publication figure:
 * charts keep their light option for that (ChartPanel), SVG figures are copied inside
 * `withPublicationColors`.
 */
import { computed, nextTick, readonly, ref, type ComputedRef, type Ref } from 'vue';

import {
  figureColors,
  type ColorScheme,
  type FigureColors,
} from '../../../main/common/charts/colorScheme.ts';

const darkQuery = matchMedia('(prefers-color-scheme: dark)');
const scheme = ref<ColorScheme>(darkQuery.matches ? 'dark' : 'light');
darkQuery.addEventListener('change', (event) => (scheme.value = event.matches ? 'dark' : 'light'));

/** Copies in progress that want the light figure (a count: two exports may overlap). */
const publishing = ref(0);

/** The scheme the OS asks for, changing when the user switches it. */
export function useColorScheme(): Readonly<Ref<ColorScheme>> {
  return readonly(scheme);
}

/** The colours SVG figures paint their frame with: the scheme's, or light while one is being copied. */
export function useFigureColors(): ComputedRef<FigureColors> {
  return computed(() => figureColors(publishing.value > 0 ? 'light' : scheme.value));
}

/**
 * Runs `copy` (synchronous: it clones figures from the DOM) once every figure on the page shows its
 * light colours, then lets them return to the scheme's. Both happen in microtasks of the same task,
 * so the browser never paints the light figures.
 */
export async function withPublicationColors<T>(copy: () => T): Promise<T> {
  publishing.value++;
  try {
    await nextTick();
    return copy();
  } finally {
    publishing.value--;
  }
}
