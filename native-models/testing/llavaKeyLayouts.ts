/**
 * The two tensor-name layouts of llava checkpoints on the hub, as the test oracles (fixture writer and
 * float64 reference) know them. The engine's graph builder keeps its own table on purpose: an oracle
 * must not share the code it checks.
 */
export const LLAVA_KEY_LAYOUTS = {
  legacy: {
    vision: 'vision_tower.vision_model.',
    projector: 'multi_modal_projector.',
    text: 'language_model.model.',
    lmHead: 'language_model.lm_head.weight',
    imageNewline: 'image_newline',
  },
  modern: {
    vision: 'model.vision_tower.vision_model.',
    projector: 'model.multi_modal_projector.',
    text: 'model.language_model.',
    lmHead: 'lm_head.weight',
    imageNewline: 'model.image_newline',
  },
} as const;
