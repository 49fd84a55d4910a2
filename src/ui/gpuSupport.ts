/**
 * What can go wrong before the studio can train, in words a person can act on: no WebGPU at all, an
 * insecure page, no adapter, a lost device, a worker that would not start. Pure functions (plus one
 * probe of `navigator.gpu`) so the classification is unit-tested in Node (tests/ui/gpuSupport.test.ts).
 */
import type { SerializedGpuError } from '../worker/gpu-info';

export type GpuProblemKind = 'unavailable' | 'insecure' | 'no-adapter' | 'device-lost' | 'worker' | 'internal';

export interface GpuProblem {
  kind: GpuProblemKind;
  /** The technical reason, shown under the explanation (never a stack trace). */
  message: string;
}

/** Problems that make the whole studio unusable: the page shows the explanation instead of the studio. */
export function isBlocking(p: GpuProblem | null): boolean {
  return (
    !!p &&
    (p.kind === 'unavailable' ||
      p.kind === 'insecure' ||
      p.kind === 'no-adapter' ||
      p.kind === 'worker' ||
      p.kind === 'internal')
  );
}

interface NavigatorLike {
  gpu?: { requestAdapter(opts?: GPURequestAdapterOptions): Promise<unknown> } | undefined;
}

/**
 * Check on the main thread what the worker will find. A browser without `navigator.gpu` here has
 * none in its workers either, and a null adapter here is the same null there; checking first gives
 * the explanation page without starting a worker. Returns null when WebGPU looks usable.
 */
export async function preflightWebGpu(nav: NavigatorLike | undefined, secure: boolean): Promise<GpuProblem | null> {
  const gpu = nav?.gpu;
  if (!gpu) {
    return secure
      ? {
          kind: 'unavailable',
          message: 'navigator.gpu is undefined: this browser does not expose WebGPU (or it is switched off).',
        }
      : {
          kind: 'insecure',
          message:
            'This page is not a secure context (https or localhost), and browsers only expose WebGPU to secure pages.',
        };
  }
  let adapter: unknown;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { kind: 'no-adapter', message: `requestAdapter() failed: ${errorText(e)}` };
  }
  if (!adapter)
    return {
      kind: 'no-adapter',
      message: 'WebGPU is present but requestAdapter() returned null: no usable GPU adapter.',
    };
  return null;
}

/** Map an error from the worker (event payload or rejected promise) to a problem kind. */
export function classifyError(e: unknown): GpuProblem {
  const s = toSerialized(e);
  switch (s.kind) {
    case 'unavailable':
      return { kind: 'unavailable', message: s.message };
    case 'no-adapter':
      return { kind: 'no-adapter', message: s.message };
    case 'device-lost':
      return { kind: 'device-lost', message: s.message };
    default:
      break;
  }
  // Comlink rethrows a plain Error whose name survives; match by name and text as a fallback.
  if (/GpuUnavailableError/.test(s.name) || /navigator\.gpu is undefined/.test(s.message))
    return { kind: 'unavailable', message: s.message };
  if (
    /GpuNoAdapterError/.test(s.name) ||
    /no GPU adapter|requestAdapter\(\) returned null|requestDevice\(\) failed/i.test(s.message)
  ) {
    return { kind: 'no-adapter', message: s.message };
  }
  if (/GpuDeviceLostError/.test(s.name) || /device (was )?lost/i.test(s.message))
    return { kind: 'device-lost', message: s.message };
  return { kind: 'internal', message: s.message };
}

const KINDS = new Set(['unavailable', 'no-adapter', 'device-lost', 'validation', 'out-of-memory', 'internal']);

/** Any thrown value → {name, kind, message}, one line, bounded length, no stack. */
export function toSerialized(e: unknown): SerializedGpuError {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const name = typeof o.name === 'string' ? o.name : 'Error';
    const kind = typeof o.kind === 'string' && KINDS.has(o.kind) ? (o.kind as SerializedGpuError['kind']) : 'internal';
    const message = typeof o.message === 'string' ? o.message : String(e);
    return { name: name.slice(0, 80), kind, message: clip(message) };
  }
  return { name: 'Error', kind: 'internal', message: clip(String(e)) };
}

export function errorText(e: unknown): string {
  return toSerialized(e).message;
}

function clip(s: string): string {
  // First lines only: a stack trace is for the console, not for the person.
  const lines = s.split('\n').filter((l) => !/^\s+at\s/.test(l));
  const t = lines.join('\n').trim();
  return t.length > 600 ? `${t.slice(0, 600)}…` : t;
}

export interface BrowserGuess {
  name: 'chrome' | 'edge' | 'firefox' | 'safari' | 'other';
  version: number | null;
  os: 'windows' | 'macos' | 'linux' | 'chromeos' | 'android' | 'ios' | 'other';
}

/** A rough user-agent reading, only to put the most relevant advice first. */
export function detectBrowser(ua: string): BrowserGuess {
  const os: BrowserGuess['os'] = /Android/.test(ua)
    ? 'android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'ios'
      : /CrOS/.test(ua)
        ? 'chromeos'
        : /Windows/.test(ua)
          ? 'windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'macos'
            : /Linux|X11/.test(ua)
              ? 'linux'
              : 'other';
  const num = (re: RegExp) => {
    const m = re.exec(ua);
    return m ? Number(m[1]) : null;
  };
  if (/Edg\//.test(ua)) return { name: 'edge', version: num(/Edg\/(\d+)/), os };
  if (/Firefox\//.test(ua)) return { name: 'firefox', version: num(/Firefox\/(\d+)/), os };
  if (/Chrom(e|ium)\//.test(ua)) return { name: 'chrome', version: num(/Chrom(?:e|ium)\/(\d+)/), os };
  if (/Safari\//.test(ua) && /Version\//.test(ua)) return { name: 'safari', version: num(/Version\/(\d+)/), os };
  return { name: 'other', version: null, os };
}

/**
 * One sentence for the detected browser and problem: what it needs, or why it should already work.
 * Text between backticks is a flag, URL or setting (the page renders it as code).
 */
export function adviceFor(b: BrowserGuess, kind: GpuProblemKind = 'unavailable'): string {
  const v = b.version ?? 0;
  const ver = v ? ` ${v}` : '';
  if (kind === 'insecure') return 'Open the page over `https://`, or from `http://localhost` / `http://127.0.0.1`.';
  if (kind === 'no-adapter') {
    if ((b.name === 'chrome' || b.name === 'edge') && b.os === 'linux') {
      return 'WebGPU is switched on, but Chrome on Linux found no usable Vulkan GPU: add `--enable-features=Vulkan`, install or update the GPU driver (Mesa or the vendor driver), and check `chrome://gpu`.';
    }
    if (b.name === 'firefox')
      return 'Firefox found no usable GPU: update the GPU driver, make sure hardware acceleration is on, and check `about:support` (Graphics).';
    return 'The browser found no usable GPU: update the GPU driver, make sure hardware acceleration is on, and check `chrome://gpu` for a blocklist entry.';
  }
  switch (b.name) {
    case 'chrome':
    case 'edge': {
      const label = b.name === 'edge' ? 'Edge' : 'Chrome';
      if (b.os === 'linux')
        return `${label} on Linux keeps WebGPU behind a flag: start it with \`--enable-unsafe-webgpu --enable-features=Vulkan\`, or turn on \`chrome://flags/#enable-unsafe-webgpu\`.`;
      if (v && v < 113) return `${label}${ver} is too old: WebGPU arrived in ${label} 113. Update the browser.`;
      if (b.os === 'android' && v && v < 121)
        return `${label}${ver} on Android is too old: WebGPU arrived on Android in Chrome 121 (Android 12+).`;
      return `${label}${ver} should have WebGPU: check that hardware acceleration is on and that \`chrome://gpu\` lists WebGPU as hardware accelerated.`;
    }
    case 'firefox':
      if (b.os === 'windows' && v >= 141)
        return `Firefox${ver} on Windows should have WebGPU: check that hardware acceleration is on.`;
      if (b.os === 'windows') return `Firefox${ver} is too old: WebGPU is on by default from Firefox 141 on Windows.`;
      return 'Firefox enables WebGPU by default only on Windows (141+); elsewhere use Firefox Nightly with `dom.webgpu.enabled` set to `true` in `about:config`.';
    case 'safari':
      if (v >= 26)
        return `Safari${ver} should have WebGPU: check that it is not switched off under Develop → Feature Flags.`;
      return `Safari${ver} does not have WebGPU yet: update to Safari 26, or use Safari Technology Preview.`;
    default:
      return 'Use a browser with WebGPU: Chrome or Edge 113+, Firefox 141+ on Windows, or Safari 26.';
  }
}
