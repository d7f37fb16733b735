/** Play/pause stepping (layers, depths) on a timer that stops with the component. */
import { onBeforeUnmount, ref } from 'vue';

export const PLAY_INTERVAL_MS = 700;

export function usePlayback(step: () => void, intervalMs = PLAY_INTERVAL_MS) {
  const playing = ref(false);
  let timer: ReturnType<typeof setInterval> | undefined;
  function toggle(): void {
    playing.value = !playing.value;
    clearInterval(timer);
    if (playing.value) timer = setInterval(step, intervalMs);
  }
  onBeforeUnmount(() => clearInterval(timer));
  return { playing, toggle };
}
