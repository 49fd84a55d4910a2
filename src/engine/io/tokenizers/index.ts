/**
 * Build a tokenizer from a serialisable spec (the `tokenizer` part of a RunConfig or model card).
 */
import { createByteTokenizer } from './byte';
import { createGpt2Tokenizer } from './gpt2';
import { createHfTokenizer } from './hf';
import { TokenizerError, type Tokenizer } from './types';

export type TokenizerSpec =
  { kind: 'byte' } | { kind: 'gpt2' } | { kind: 'hf'; tokenizerJson: unknown; tokenizerConfig?: unknown };

export async function createTokenizer(spec: TokenizerSpec): Promise<Tokenizer> {
  switch (spec?.kind) {
    case 'byte':
      return createByteTokenizer();
    case 'gpt2':
      return createGpt2Tokenizer();
    case 'hf':
      return createHfTokenizer(spec.tokenizerJson, spec.tokenizerConfig);
    default:
      throw new TokenizerError(
        `unknown tokenizer kind ${JSON.stringify((spec as { kind?: unknown } | undefined)?.kind)} (expected byte, gpt2 or hf)`,
      );
  }
}

export { createByteTokenizer, createGpt2Tokenizer, createHfTokenizer, TokenizerError };
export type { Tokenizer };
