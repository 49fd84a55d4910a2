/**
 * CPU reference for the activation family (shaders/activation.wgsl), float64. The exact GELU uses the
 * same erfc approximation as the shader (Numerical Recipes' `erfcc`, fractional error < 1.2e-7), here
 * in f64, so the twin isolates the GPU's f32 rounding; the approximation itself is tested against
 * tabulated erf values.
 *
 *   gelu(x) = ½x·erfc(−x/√2),  gelu'(x) = Φ(x) + x·φ(x)
 *   swiglu(g, u) = g·σ(g)·u,   ∂/∂g = u·σ(g)·(1 + g(1 − σ(g))),   ∂/∂u = g·σ(g)
 */

type Arr = ArrayLike<number>;

/** erfc(z), Numerical Recipes (2nd ed.) §6.2 `erfcc`. */
export function erfc(z: number): number {
  const az = Math.abs(z);
  const t = 1 / (1 + 0.5 * az);
  const p =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-az * az + p);
  return z >= 0 ? r : 2 - r;
}

export function geluErfForwardF64(x: Arr): Float64Array {
  return Float64Array.from(x, (v) => 0.5 * v * erfc(-v / Math.SQRT2));
}

export function geluErfForward(x: Arr): Float32Array {
  return Float32Array.from(geluErfForwardF64(x));
}

export function geluErfBackward(x: Arr, dout: Arr): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const cdf = 0.5 * erfc(-v / Math.SQRT2);
    const pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    dx[i] = dout[i] * (cdf + v * pdf);
  }
  return dx;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function swigluForwardF64(gate: Arr, up: Arr): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return out;
}

export function swigluForward(gate: Arr, up: Arr): Float32Array {
  return Float32Array.from(swigluForwardF64(gate, up));
}

export function swigluBackward(gate: Arr, up: Arr, dout: Arr): { dgate: Float32Array; dup: Float32Array } {
  const dgate = new Float32Array(gate.length),
    dup = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i],
      s = sigmoid(g);
    dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] = dout[i] * g * s;
  }
  return { dgate, dup };
}
