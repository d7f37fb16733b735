/**
 * The paper's analyses' data shapes, shared by the engine (which computes them), the backend (which
 * serves them) and the renderer (which draws them): per-sample results and dataset summaries. Plain
 * types and constants only; each analysis's settings are its schema's (main/engine/analyses).
 */

/**
 * Refinements contrastive attention compares (paper §3), besides no refinement: its own (mask, crop)
 * and the baselines ViCrop and VAR (visual attention redistribution away from sink tokens).
 */
export const REFINEMENTS = ['mask', 'crop', 'vicrop', 'var'] as const;
export type Refinement = (typeof REFINEMENTS)[number];

/** An axis-aligned rectangle in continuous pixel coordinates (pixel (i, j) covers [i, i+1) x [j, j+1)). */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** [x0, y0, x1, y1] in image pixels, x1/y1 exclusive (FORMAT.md's `xyxy-pixels`). */
export type Box = readonly [number, number, number, number];

/**
 * Which accuracy applies: `vqa` = VQA soft accuracy over `annotatorAnswers`, `exact` = normalised exact
 * match against `answers`, `pope` = yes/no with POPE's precision/recall/F1, `anls` = DocVQA's
 * average normalised Levenshtein similarity, `choice` = the option read from the answer (VLMEvalKit's
 * exact-matching rule) is the gold option `answers[0]`, `none` = no gold answer (attention-only
 * analyses).
 */
export type Metric = 'vqa' | 'exact' | 'pope' | 'anls' | 'choice' | 'none';

/** One option of a multiple-choice question: its label (`A`, `B`, ...) and text. */
export interface Choice {
  readonly label: string;
  readonly text: string;
}

/**
 * VLMEvalKit's circular evaluation: each question is asked once per rotation of its options, and
 * counts as right only if every rotation is. `group` names the question (VLMEvalKit's `g_index`),
 * `rotation` is 0 for the options as written, `rotations` how many items the group has.
 */
export interface CircularSlot {
  readonly group: string;
  readonly rotation: number;
  readonly rotations: number;
}

export interface SweepItemResult {
  readonly baselineAnswer: string;
  readonly baselineScore: number | null;
  /** Per window start layer. */
  readonly maskedAnswers: readonly string[];
  /** Fill resample or mean: the items whose image states replaced this item's, in dataset order. */
  readonly donors?: readonly string[];
}

export interface EvolveItemResult {
  readonly noiseTokens: readonly { token: number; persistence: number }[];
}

export interface ContrastItemResult {
  readonly preLayer: number;
  readonly maskedTokens: readonly number[];
  readonly crops: Partial<Record<'crop' | 'vicrop', Rect>>;
  readonly baselineAnswer: string;
  readonly baselineScore: number | null;
  /** Per refinement that ran: its answer and score. */
  readonly refined: Partial<Record<Refinement, { readonly answer: string; readonly score: number | null }>>;
  /** Wall time per method (ms): the plain answer, and each refinement's passes; absent in older runs. */
  readonly latencyMs?: Partial<Record<'none' | Refinement, number>>;
  /** What VAR found and changed on this sample, when it ran. */
  readonly var?: VarFacts;
  /** Why VAR could not apply to this sample (then `refined.var` is absent). */
  readonly varNotApplicable?: string;
}

/** VAR over a run: the samples it ran on, those where it moved any attention, (layer, head) pairs per sample. */
export interface VarActivity {
  readonly samples: number;
  readonly acted: number;
  readonly meanHeads: number;
}

/** One sample's VAR pass at the answer position (engine/analysis/visualSinks.ts). */
export interface VarFacts {
  /** Sink dimensions used at any layer, ascending. */
  readonly sinkDims: readonly number[];
  /** Layers where at least one head's attention was redistributed. */
  readonly layers: number;
  /** (layer, head) pairs whose attention was redistributed; 0: VAR found nothing to move. */
  readonly heads: number;
  /** The most image sink tokens at one layer. */
  readonly imageSinks: number;
}

export interface EvalItemResult {
  readonly answer: string;
  readonly gold: readonly string[];
  readonly family: string;
  readonly metric: Metric;
  readonly score: number | null;
  /** The item's circular-evaluation slot, when its dataset has one (VLMEvalKit MMBench and kin). */
  readonly circular?: CircularSlot;
}

/** Circular accuracy (experiments/metrics/multipleChoice.ts `circularAccuracy`). */
export interface CircularSummary {
  /** Share of complete groups whose every rotation was answered right. */
  readonly overall: number;
  readonly byFamily: Readonly<Record<string, { readonly mean: number; readonly n: number }>>;
  /** Groups scored, and groups left out because a rotation has no score (failed or not run). */
  readonly groups: number;
  readonly incomplete: number;
}

export interface SweepSummary {
  readonly runId: number;
  readonly metric: string;
  readonly sampleCount: number;
  readonly layerCount: number;
  readonly baselineMean: number;
  /** How the image was removed (the run's mode: 'hidden' carries into later layers, 'knockout' does not). */
  readonly mode: string;
  /** hidden mode: what replaced the image tokens' states ('zero', 'resample', 'mean'). */
  readonly fill?: string;
  /** Masked score per window start, mean and 95% interval over samples (unpaired). */
  readonly masked: readonly LayerStat[];
  /**
   * Paired drop (baseline − masked) per window start, mean and interval over samples, in the metric's
   * units: the statistic the labels test (with `labels.criterion` 'marginal', its layer-to-layer
   * difference). Draw this band, not `masked`'s, beside the labels.
   */
  readonly drops: readonly LayerStat[];
  readonly labels: LayerLabelling;
}

/** Two sweeps' drop curves compared on normalised depth (a permutation test). */
export interface SweepComparison {
  /** Mean |difference| between the two mean drop curves over the depth grid. */
  readonly statistic: number;
  readonly p: number;
  readonly permutations: number;
  /** Depths the curves were read at. */
  readonly points: number;
}

export interface EvolutionSummary {
  readonly runId: number;
  readonly sampleCount: number;
  /** metric name → per layer mean and interval. */
  readonly curves: Readonly<Record<string, readonly LayerStat[]>>;
}

export interface MethodScore {
  readonly method: 'none' | Refinement;
  readonly mean: number;
  /** Samples behind the mean (every method is scored on the same samples). */
  readonly n: number;
  /** Samples where this method scored higher / lower than no refinement. */
  readonly improved: number;
  readonly worsened: number;
  /** Mean paired difference to no refinement with its 95% paired-bootstrap interval; null for 'none'. */
  readonly delta: Interval | null;
  /** Exact two-sided McNemar (sign) test on improved vs worsened; null for 'none'. */
  readonly p: number | null;
  /** Mean wall time per sample (ms) on the samples that recorded it; null when none did. */
  readonly latencyMs: number | null;
}

export interface ContrastSummary {
  readonly runId: number;
  readonly sampleCount: number;
  /** Baseline first, then each refinement that ran, over the samples every method scored. */
  readonly methods: readonly MethodScore[];
  /** Refinements asked for that could not apply to this run, and why (e.g. mask with no review layer). */
  readonly notApplicable: readonly { readonly method: Refinement; readonly reason: string }[];
  /** How much VAR did, over the samples it ran on (absent when it ran on none). */
  readonly varActivity?: VarActivity;
  readonly rows: ReadonlyArray<{ itemId: string } & ContrastItemResult>;
}

export interface EvalSummary {
  readonly runId: number;
  readonly sampleCount: number;
  /** Mean score over scored samples, overall and per question family / answer group. */
  readonly overall: number;
  readonly byFamily: Readonly<Record<string, { readonly mean: number; readonly n: number }>>;
  /** POPE's accuracy/precision/recall/F1/yes-ratio over the POPE items, when there are any. */
  readonly pope: PopeMetrics | null;
  /** Circular accuracy, when the items carry circular slots; `overall` above is per rotation. */
  readonly circular?: CircularSummary | null;
}

export interface Interval {
  readonly mean: number;
  readonly lower: number;
  readonly upper: number;
}

export interface LayerStat extends Interval {
  readonly layer: number;
  /** layer / (layerCount − 1): 0 = first decoder layer, 1 = last, comparable across depths. */
  readonly depth: number;
  /** Samples behind the mean. */
  readonly n: number;
}

export interface LabelParams {
  /**
   * 'relative' (default): drops are divided by the baseline mean, so 0.05 means "lost 5% of the
   * unmasked score" whatever the metric (accuracy, gold probability) and the model's baseline.
   * 'absolute': drops in the metric's own units.
   */
  readonly scale?: 'relative' | 'absolute';
  /** Smallest scaled mean drop for a fusion layer (default 0.05). */
  readonly minDrop?: number;
  /** A layer is quiet when its scaled mean drop is below this (default 0.02). */
  readonly plateauDrop?: number;
  /**
   * Quiet layers in a row that make a plateau: a count, or a fraction of the model's depth (default
   * { fraction: 0.2 }, i.e. round(0.2·L), at least 1: 6 for 32 layers). Gaps between shallow fusion
   * layers (LLaVA: 5–7) must be shorter, or the plateau starts inside the fusion stage.
   */
  readonly plateauLength?: number | { readonly fraction: number };
  /** Smallest scaled mean drop for a review layer (default: minDrop). */
  readonly minReviewDrop?: number;
  /** Fewer samples than this and no drop counts as significant (default 5): tiny-n bootstraps are too narrow. */
  readonly minSamples?: number;
  /**
   * What the thresholds test. 'drop': the drop when the image is removed at the layer (right for
   * knockout, whose edit stays at its layer). 'marginal': drop(l) − drop(l+1), the layer's own share
   * (right for hidden, whose edit carries into every later layer, so drop(l) is cumulative: a 'drop'
   * rule would label every early layer). Default: by the sweep's mode.
   */
  readonly criterion?: LabelCriterion;
  /** Multiple-comparison correction across layers of the significance test (default 'none'). */
  readonly correction?: LabelCorrection;
}

export type LabelCriterion = 'drop' | 'marginal';
/** 'holm': family-wise (Holm–Bonferroni); 'bh': false discovery rate (Benjamini–Hochberg). */
export type LabelCorrection = 'none' | 'holm' | 'bh';

export interface ResolvedLabelParams {
  readonly criterion: LabelCriterion;
  readonly correction: LabelCorrection;
  readonly scale: 'relative' | 'absolute';
  readonly minDrop: number;
  readonly plateauDrop: number;
  readonly plateauLength: number;
  readonly minReviewDrop: number;
  readonly minSamples: number;
}

export type LayerLabel = 'fusion' | 'review' | 'plateau' | 'none';

/** Which rule decided a layer's label. */
export type LayerRule =
  | 'fusion' // before the plateau, drop ≥ minDrop and significant
  | 'review' // after the plateau start, drop ≥ minReviewDrop and significant
  | 'plateau' // after the plateau start, drop < plateauDrop
  | 'below-min-drop' // before the plateau, drop < minDrop
  | 'below-review-drop' // after the plateau start, plateauDrop ≤ drop < minReviewDrop
  | 'not-significant' // large enough, but the interval's lower bound is ≤ 0
  | 'too-few-samples'; // large enough, but n < minSamples

export interface LayerVerdict {
  readonly layer: number;
  readonly depth: number;
  readonly label: LayerLabel;
  readonly rule: LayerRule;
  /** Mean drop and interval in the chosen scale. */
  readonly drop: number;
  readonly lower: number;
  readonly upper: number;
  readonly significant: boolean;
  /** One-sided bootstrap p of "no drop" (after the correction, when one is chosen). */
  readonly p: number;
  /** One sentence for the UI. */
  readonly reason: string;
}

export interface LayerLabelling {
  readonly params: ResolvedLabelParams;
  /** First layer of the plateau of no effect, or null when none was found. */
  readonly plateauStart: number | null;
  readonly plateauStartDepth: number | null;
  readonly fusionLayers: readonly number[];
  readonly reviewLayers: readonly number[];
  readonly layers: readonly LayerVerdict[];
  /** How the plateau was found (or why not), for the UI. */
  readonly summary: readonly string[];
  /** Reasons to doubt the labels (a cumulative mode read with the 'drop' criterion, too few samples). */
  readonly warnings: readonly string[];
}

export interface PopeMetrics {
  readonly count: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly trueNegatives: number;
  readonly falseNegatives: number;
  readonly accuracy: number;
  /** TP / (TP + FP); 0 when nothing was predicted "yes" (the script would divide by zero). */
  readonly precision: number;
  /** TP / (TP + FN); 0 when no label is "yes". */
  readonly recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  readonly f1: number;
  /** Fraction of predictions that are "yes" ("yes" is POPE's positive class). */
  readonly yesRatio: number;
}

/**
 * The logit lens's per-layer metrics (engine/analyses/logitLens.ts), in chart order: the gold answer's
 * first token's probability, the top-1 token's probability, and the gold token's rank (1 = top).
 */
export const LOGIT_LENS_METRICS = ['gold_prob', 'top1_prob', 'gold_rank'] as const;
export type LogitLensMetric = (typeof LOGIT_LENS_METRICS)[number];

export interface LensToken {
  readonly token: number;
  readonly text: string;
  readonly prob: number;
}

export interface LogitLensItemResult {
  /** The gold answer's first token; null when the item has no gold answer. */
  readonly goldToken: number | null;
  readonly goldText: string | null;
  /** The first layer whose read-out ranks the gold token first; null when none does. */
  readonly firstTop1Layer: number | null;
  /** Per layer, the k most probable tokens of the read-out, most probable first. */
  readonly topTokens: readonly (readonly LensToken[])[];
}

export interface LogitLensSummary {
  readonly runId: number;
  readonly sampleCount: number;
  readonly layerCount: number;
  /** Per metric (gold ones only when items have a gold answer): per layer mean and 95% interval. */
  readonly curves: Readonly<Partial<Record<LogitLensMetric, readonly LayerStat[]>>>;
  /**
   * The layer at which the gold token first becomes top-1: its mean over the `reached` samples where
   * it does (null when none does), out of the `of` samples with a gold token.
   */
  readonly firstTop1: { readonly mean: number | null; readonly reached: number; readonly of: number };
}

/**
 * Where the answer position's attention goes (engine/analyses/attentionShare.ts), in stacking order:
 * the image tokens, the text before the first image (BOS, system prompt: the attention sink), the
 * other text after it, and the position itself.
 */
export const ATTENTION_SHARE_PARTS = ['image', 'prefix', 'text', 'self'] as const;
export type AttentionSharePart = (typeof ATTENTION_SHARE_PARTS)[number];

export interface AttentionShareItemResult {
  /** Positions in each part (self is 1). */
  readonly tokens: Readonly<Record<AttentionSharePart, number>>;
  /** Layers whose head-mean image share is below the run's threshold. */
  readonly flaggedLayers: readonly number[];
}

export interface AttentionShareSummary {
  readonly runId: number;
  readonly sampleCount: number;
  readonly layerCount: number;
  /** The image share below which a layer is flagged (the run's setting). */
  readonly threshold: number;
  /** Per part: per layer mean (over samples of the head mean) and 95% interval. */
  readonly shares: Readonly<Record<AttentionSharePart, readonly LayerStat[]>>;
  /**
   * Layers whose mean image share is below `threshold`: their maps over the image (as attention
   * evolution draws them, renormalised to sum 1) stretch a near-zero mass and mean little.
   */
  readonly flaggedLayers: readonly number[];
  /** Per layer: the fraction of samples whose image share there is below `threshold`. */
  readonly flaggedFraction: readonly number[];
}

/** Per decoder layer and attention head, the paired drop when that head alone loses the image. */
export interface HeadKnockoutSummary {
  readonly runId: number;
  readonly metric: 'score' | 'gold_prob';
  /** Whose attention was blocked (the run's setting). */
  readonly queries: string;
  readonly sampleCount: number;
  readonly baselineMean: number;
  readonly layers: readonly number[];
  readonly heads: number;
  /** [layer][head]: mean drop (baseline − masked), its 95% bootstrap interval, in the metric's units. */
  readonly drops: readonly (readonly Interval[])[];
}

/**
 * Question contrast: curves over the ordered pairs of questions asked of one image (each about its own
 * region). own: a question's attention on its own region; other: the other question's attention on
 * that region; contrast: the map relu(A_q − A_other), renormalised, on it; specificity: own − other.
 */
export const QUESTION_CONTRAST_CURVES = [
  'own_box_mass',
  'other_box_mass',
  'contrast_box_mass',
  'specificity',
] as const;
export type QuestionContrastCurve = (typeof QUESTION_CONTRAST_CURVES)[number];

export interface QuestionContrastItemResult {
  /** Equal for the questions asked of one image file (a hash of its path). */
  readonly imageKey: string;
}

export interface QuestionContrastSummary {
  readonly runId: number;
  readonly sampleCount: number;
  /** Images with at least two questions that have a region: the units the intervals resample. */
  readonly images: number;
  /** Ordered pairs of questions on one image. */
  readonly pairs: number;
  readonly layerCount: number;
  /** Mean box mass under uniform attention over the images' questions (null without pairs). */
  readonly chance: number | null;
  /** Per layer, averaged over each image's pairs first, intervals over images. */
  readonly curves: Readonly<Partial<Record<QuestionContrastCurve, readonly LayerStat[]>>>;
  /** The layer where specificity peaks (null without pairs). */
  readonly peakLayer: number | null;
}

/**
 * The image-token lens's per-layer metrics (engine/analyses/imageLens.ts), each over the first
 * image's tokens read through the final norm and LM head: the mean top-1 probability, and with a gold
 * answer the share of tokens ranking its first token first, the share ranking it within the run's top
 * k (ties count for the gold token, as the logit lens ranks), and the largest probability any token
 * gives it.
 */
export const IMAGE_LENS_METRICS = [
  'patch_top1_prob',
  'patch_gold_top1',
  'patch_gold_topk',
  'patch_gold_prob_max',
] as const;
export type ImageLensMetric = (typeof IMAGE_LENS_METRICS)[number];

export interface ImageLensItemResult {
  /** The gold answer's first token; null when the item has no gold answer. */
  readonly goldToken: number | null;
  readonly goldText: string | null;
  /** The decoder layers the stored arrays' rows are, ascending. */
  readonly layers: readonly number[];
  /** Decoder layers of the model (depth = layer / (modelLayers − 1)). */
  readonly modelLayers: number;
  /** Image tokens of the first image: the stored arrays' columns, in the sample's token order. */
  readonly tokens: number;
  /**
   * Whether the tokens have a place in the image. Learned queries (InstructBLIP) do not: their maps
   * are projected onto patches elsewhere, but a token read-out cannot be, so it is not drawn.
   */
  readonly onImage: boolean;
  /** Decoded text of every vocabulary token that is some image token's top-1 at a stored layer. */
  readonly texts: Readonly<Record<string, string>>;
}

export interface ImageLensSummary {
  readonly runId: number;
  readonly sampleCount: number;
  /** The run's `topK`: what patch_gold_topk counts within. */
  readonly topK: number;
  /** Per metric (gold ones only when items have a gold answer): per recorded layer, mean and 95% interval. */
  readonly curves: Readonly<Partial<Record<ImageLensMetric, readonly LayerStat[]>>>;
}
