/**
 * The page's Targets section follows the model's family: its module types as boxes, presets expanded
 * into the boxes they select, and GPT-2 selectors that a Llama does not have counted as selecting nothing
 * (the section then switches the draft to the family's default, PEFT's per-family target_modules).
 */
import { describe, expect, it } from 'vitest';
import { familyTypes, selectedTypes } from '../../src/ui/components/TargetsSection';
import type { ModelConfig } from '../../src/engine/model/config';

const gpt2: ModelConfig = {
  arch: 'gpt2',
  vocabSize: 256,
  contextLength: 8,
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
};
const llama: ModelConfig = {
  ...gpt2,
  arch: 'llama',
  nKvHead: 1,
  intermediateSize: 24,
  ropeTheta: 10000,
  tieWordEmbeddings: true,
};

describe('Targets section per family', () => {
  it("lists each family's own module types", () => {
    expect(familyTypes(gpt2)).toEqual(['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']);
    expect(familyTypes(llama)).toEqual(
      expect.arrayContaining(['self_attn.q_proj', 'self_attn.v_proj', 'mlp.down_proj']),
    );
  });

  it('expands presets and suffix selectors into the boxes they select', () => {
    const types = familyTypes(llama);
    expect(selectedTypes(llama, ['default'], types)).toEqual(['self_attn.q_proj', 'self_attn.v_proj']);
    expect(selectedTypes(llama, ['all-linear'], types)).toEqual(types);
    expect(selectedTypes(llama, ['q_proj'], types)).toEqual(['self_attn.q_proj']);
    expect(selectedTypes(gpt2, ['default'], familyTypes(gpt2))).toEqual(['attn.c_attn']);
  });

  it("GPT-2's c_attn selects nothing on a Llama (the section then falls back to the default preset)", () => {
    expect(selectedTypes(llama, ['attn.c_attn'], familyTypes(llama))).toEqual([]);
  });
});
