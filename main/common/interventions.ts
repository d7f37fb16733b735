/**
 * Interventions that remove the image's influence inside the decoder (paper §1). Shared by the CLI,
 * the experiment runner and the renderer, so it is plain data.
 */
export type InterventionMode =
  /** Positions after the image may not attend to the chosen image positions (−∞ before softmax). */
  | 'knockout'
  /**
   * Positions after the image attend to the chosen image positions with their attention weights
   * multiplied by `scale` before renormalising (log scale added to their logits; 0 = knockout). The
   * suppression acts at the layer itself, where `hidden` scaling is undone by the next RMSNorm.
   */
  | 'attention'
  /** The residual stream at the chosen image positions is multiplied by `scale` at the layer's input. */
  | 'hidden';

/**
 * Which positions a knockout or attention intervention acts on (their attention to the image keys):
 * 'all' every position after the image (default); 'last' the answer position only (the last prompt
 * position and what it generates: does the answer read the image directly?); 'question' the question
 * rows but not the answer position (the image → question flow, as in "Cross-modal Information Flow":
 * does the image reach the answer through the question?).
 */
export type QuerySet = 'all' | 'last' | 'question';

export interface Intervention {
  readonly mode: InterventionMode;
  /** 0-based decoder layers. */
  readonly layers: readonly number[];
  /** 0-based indexes inside the image-token span; omitted = every image token. */
  readonly tokens?: readonly number[];
  /**
   * `hidden`: the residual-stream multiplier (0 zeroes the tokens, the paper's setting; 0.1 is soft
   * suppression). `attention`: the attention-weight multiplier (0 = knockout). Ignored by knockout.
   */
  readonly scale?: number;
  /** knockout and attention: whose attention to the image is changed (default 'all'). */
  readonly queries?: QuerySet;
  /** knockout and attention: only these attention heads (0-based; default every head). */
  readonly heads?: readonly number[];
  /**
   * `hidden` only, instead of `scale`: at each listed layer's input the chosen tokens' residual stream
   * is replaced by rows of another image's states (resample and mean ablations, which stay on the
   * distribution where zeroing leaves it). Per layer, one row of the model's hidden size for every
   * token of the image span, [imageTokens, D] in span order; the chosen tokens' rows are used.
   */
  readonly replacement?: ReadonlyMap<number, Float32Array>;
}

/** Which query rows' attention to return. */
export type AttentionRows = 'last' | 'question' | readonly number[];

export interface ReadoutOptions {
  /** Default 'last': the position that predicts the answer's first token. */
  readonly attentionRows?: AttentionRows;
  /** Keep per-head maps (default true); head means are always returned. */
  readonly perHead?: boolean;
}
