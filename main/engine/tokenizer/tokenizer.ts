/**
 * Hugging Face `tokenizers` semantics in plain TypeScript, matching what transformers' AutoTokenizer
 * produces for the same model folder: added tokens → normalizer → pre-tokenizer → model →
 * post-processor on the way in, and the decoder chain (plus `clean_up_tokenization_spaces`) on the
 * way out.
 */
import { FusionError } from '../../common/errors.ts';
import { parseJsonFile } from '../files/jsonFile.ts';
import { assemble, type TokenizerParts } from './assemble.ts';
import type { ChatMessage } from './chatTemplate.ts';
import { cleanUpTokenization } from './decoders.ts';
import { readTokenizerFolder } from './folder.ts';
import { preTokenizeAll } from './preTokenizers.ts';

export type { ChatMessage } from './chatTemplate.ts';

export class Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly specialTokenIds: ReadonlySet<number>;
  readonly chatTemplate: string | undefined;
  /** tokenizer_config.json `model_max_length`, undefined when absent or transformers' "no limit" value. */
  readonly modelMaxLength: number | undefined;

  private constructor(private readonly parts: TokenizerParts) {
    this.vocabSize = parts.vocabSize;
    this.bosTokenId = parts.bosTokenId;
    this.eosTokenId = parts.eosTokenId;
    this.padTokenId = parts.padTokenId;
    this.specialTokenIds = parts.specialTokenIds;
    this.chatTemplate = parts.chatTemplate?.source;
    this.modelMaxLength = parts.config.modelMaxLength;
  }

  /** Loads `dir/tokenizer.json` (required) with `tokenizer_config.json` and chat template files if present. */
  static async fromFolder(dir: string): Promise<Tokenizer> {
    const files = await readTokenizerFolder(dir);
    return Tokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig, files.source);
  }

  /**
   * Builds a tokenizer from parsed tokenizer.json (a JSON string is parsed too) and optional parsed
   * tokenizer_config.json. `source` names tokenizer.json in error messages.
   */
  static fromJSON(tokenizerJson: unknown, tokenizerConfig?: unknown, source = 'tokenizer.json'): Tokenizer {
    // Parse errors say where, never the file's text (the one JSON reader every file goes through).
    const json =
      typeof tokenizerJson === 'string'
        ? parseJsonFile(tokenizerJson, source, 'BAD_TOKENIZER')
        : tokenizerJson;
    return new Tokenizer(assemble(json, tokenizerConfig, source));
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    if (typeof text !== 'string')
      throw new FusionError('BAD_ARGUMENT', `encode expects a string (got ${typeof text})`);
    const { addedVocabulary, preTokenizer, model, postProcessor } = this.parts;
    const ids: number[] = [];
    for (const segment of addedVocabulary.split(text)) {
      if (segment.kind === 'token') {
        ids.push(segment.id);
        continue;
      }
      for (const piece of preTokenizeAll(preTokenizer, { text: segment.text, atStart: segment.atStart })) {
        for (const id of model.tokenize(piece.text)) ids.push(id);
      }
    }
    const addSpecialTokens = options?.addSpecialTokens ?? true;
    return addSpecialTokens && postProcessor !== undefined ? postProcessor.process(ids) : ids;
  }

  /** Unknown ids are skipped, as in HF; `skipSpecialTokens` drops the special added tokens. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    if (!Array.isArray(ids)) throw new FusionError('BAD_ARGUMENT', `decode expects an array of token ids`);
    const skipSpecial = options?.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (const id of ids) {
      if (!Number.isSafeInteger(id)) {
        throw new FusionError('BAD_ARGUMENT', `decode expects integer token ids (got ${String(id)})`);
      }
      if (skipSpecial && this.specialTokenIds.has(id)) continue;
      const token = this.idToToken(id);
      if (token !== undefined) tokens.push(token);
    }
    const { decoder, config } = this.parts;
    const text = decoder === undefined ? tokens.join(' ') : decoder.decodeChain(tokens).join('');
    return config.cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text;
  }

  tokenToId(token: string): number | undefined {
    return this.parts.addedByContent.get(token) ?? this.parts.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.parts.addedById.get(id) ?? this.parts.model.idToToken(id);
  }

  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string {
    const { chatTemplate, config, configSource } = this.parts;
    if (chatTemplate === undefined) {
      throw new FusionError(
        'BAD_CONFIG',
        config.chatTemplateProblem ??
          `${configSource}: the tokenizer has no chat_template (looked in tokenizer_config.json, chat_template.jinja, chat_template.json)`,
      );
    }
    if (!Array.isArray(messages))
      throw new FusionError('BAD_ARGUMENT', 'applyChatTemplate expects an array of messages');
    const specialTokens: Record<string, string> = {};
    for (const [name, token] of Object.entries(config.named)) specialTokens[name] = token.content;
    return chatTemplate.render(messages, options?.addGenerationPrompt ?? false, specialTokens);
  }
}
