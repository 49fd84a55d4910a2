/**
 * The uniform-layout check (src/gpu/uniform-layout.ts) that tests/setup.ts turns on for every dispatch:
 * it reads every shader's uniform structs, accepts the layouts the kernels really write, and rejects a
 * host that packs the words in another order or number.
 */
import { describe, expect, it } from 'vitest';
import { shaderNames, shaderSource } from '../../src/gpu/shaders';
import { checkUniformLayout, wgslStructs, wgslUniforms } from '../../src/gpu/uniform-layout';
import { Params } from '../../src/gpu/device';
import { layernormForward } from '../../src/gpu/kernels/layernorm';
import { testGpu } from '../helpers/gpu';

describe('uniform layout check', () => {
  it('parses a uniform struct for every shader that declares one, and maps entry points to it', () => {
    let structs = 0;
    for (const name of shaderNames()) {
      const src = shaderSource(name);
      const { vars, entryUses } = wgslUniforms(src);
      for (const type of vars.values()) {
        expect(wgslStructs(src).has(type), `${name}: struct ${type}`).toBe(true);
        structs++;
      }
      if (vars.size) expect(entryUses.size, `${name} has entry points`).toBeGreaterThan(0);
    }
    expect(structs).toBeGreaterThanOrEqual(12);
  });

  it('accepts the layernorm host layout and rejects a swapped or short one', () => {
    const src = shaderSource('layernorm');
    expect(checkUniformLayout(src, 'layernorm', 'layernorm_forward', ['u', 'u', 'f', 'u'])).toBeNull();
    expect(checkUniformLayout(src, 'layernorm', 'layernorm_forward', ['u', 'f', 'u', 'u'])).toMatch(
      /host uniform words "ufuu" do not match the shader's Params=uufu/,
    );
    expect(checkUniformLayout(src, 'layernorm', 'layernorm_forward', ['u', 'u', 'f'])).toMatch(/do not match/);
  });

  it('a real dispatch with a wrong layout throws before reaching the GPU', async () => {
    const gpu = await testGpu();
    const x = gpu.zeros([2, 4], 'x');
    const g = gpu.zeros([4], 'g');
    const o = gpu.zeros([2, 4], 'o');
    const m = gpu.zeros([2], 'm');
    const enc = gpu.encoder('layout');
    // The real host function passes the check (tests/setup.ts has it on) …
    layernormForward(enc, { x, gamma: g, beta: g, out: o, mean: m, rstd: m, N: 2, C: 4 });
    // … and the same kernel with the eps word moved is refused.
    expect(() =>
      enc.dispatch({
        kernel: { shader: 'layernorm', entry: 'layernorm_forward' },
        bindings: { 1: x, 2: g, 3: g, 4: o, 5: m, 6: m },
        params: new Params().f32(1e-5).u32(2, 4, 0).build(),
        workgroups: [1],
      }),
    ).toThrow(/uniform layout mismatch: layernorm:layernorm_forward/);
    enc.submit();
    for (const t of [x, g, o, m]) gpu.release(t);
  });
});
