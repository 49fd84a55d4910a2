import { describe, expect, it } from 'vitest';
import {
  adviceFor,
  classifyError,
  detectBrowser,
  isBlocking,
  preflightWebGpu,
  toSerialized,
} from '../../src/ui/gpuSupport';

const UA = {
  linuxChrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
  winChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  ffWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0',
  ffMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:145.0) Gecko/20100101 Firefox/145.0',
  safari18:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15',
  safari26:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15',
};

describe('preflightWebGpu', () => {
  it('no navigator.gpu on a secure page → unavailable', async () => {
    expect(await preflightWebGpu({}, true)).toMatchObject({ kind: 'unavailable' });
    expect(await preflightWebGpu(undefined, true)).toMatchObject({ kind: 'unavailable' });
  });
  it('no navigator.gpu on an insecure page → insecure', async () => {
    expect(await preflightWebGpu({}, false)).toMatchObject({ kind: 'insecure' });
  });
  it('requestAdapter() null or throwing → no-adapter', async () => {
    expect(await preflightWebGpu({ gpu: { requestAdapter: async () => null } }, true)).toMatchObject({
      kind: 'no-adapter',
    });
    const thrown = await preflightWebGpu(
      {
        gpu: {
          requestAdapter: async () => {
            throw new Error('boom');
          },
        },
      },
      true,
    );
    expect(thrown).toMatchObject({ kind: 'no-adapter' });
    expect(thrown!.message).toContain('boom');
  });
  it('an adapter → null (usable)', async () => {
    expect(await preflightWebGpu({ gpu: { requestAdapter: async () => ({}) } }, true)).toBeNull();
  });
});

describe('classifyError', () => {
  it('uses the serialized kind from the worker', () => {
    expect(classifyError({ name: 'GpuNoAdapterError', kind: 'no-adapter', message: 'x' }).kind).toBe('no-adapter');
    expect(classifyError({ name: 'GpuUnavailableError', kind: 'unavailable', message: 'x' }).kind).toBe('unavailable');
    expect(classifyError({ name: 'GpuDeviceLostError', kind: 'device-lost', message: 'x' }).kind).toBe('device-lost');
  });
  it('falls back to the name or message of a plain Error (Comlink rethrow)', () => {
    const e = new Error('WebGPU is present but no GPU adapter was found (requestAdapter() returned null).');
    expect(classifyError(e).kind).toBe('no-adapter');
    const n = Object.assign(new Error('whatever'), { name: 'GpuUnavailableError' });
    expect(classifyError(n).kind).toBe('unavailable');
    expect(classifyError('string thrown').kind).toBe('internal');
    expect(classifyError(null).kind).toBe('internal');
  });
  it('never carries a stack trace and bounds length', () => {
    const s = toSerialized({ message: 'bad thing\n    at foo (x.js:1:2)\n    at bar (y.js:3:4)' });
    expect(s.message).toBe('bad thing');
    expect(toSerialized({ message: 'x'.repeat(5000) }).message.length).toBeLessThanOrEqual(601);
    expect(toSerialized({ kind: 'nonsense', message: 'm' }).kind).toBe('internal');
  });
  it('blocking kinds', () => {
    expect(isBlocking({ kind: 'unavailable', message: '' })).toBe(true);
    expect(isBlocking({ kind: 'no-adapter', message: '' })).toBe(true);
    expect(isBlocking({ kind: 'device-lost', message: '' })).toBe(false);
    expect(isBlocking(null)).toBe(false);
  });
});

describe('detectBrowser / adviceFor', () => {
  it('reads browser, version and OS', () => {
    expect(detectBrowser(UA.linuxChrome)).toEqual({ name: 'chrome', version: 156, os: 'linux' });
    expect(detectBrowser(UA.edge)).toEqual({ name: 'edge', version: 130, os: 'windows' });
    expect(detectBrowser(UA.ffWin)).toEqual({ name: 'firefox', version: 140, os: 'windows' });
    expect(detectBrowser(UA.safari26)).toEqual({ name: 'safari', version: 26, os: 'macos' });
    expect(detectBrowser('')).toEqual({ name: 'other', version: null, os: 'other' });
  });
  it('gives the advice that fits', () => {
    expect(adviceFor(detectBrowser(UA.linuxChrome))).toContain('--enable-unsafe-webgpu --enable-features=Vulkan');
    expect(adviceFor(detectBrowser(UA.linuxChrome))).toContain('chrome://flags/#enable-unsafe-webgpu');
    expect(adviceFor(detectBrowser(UA.winChrome))).toContain('113');
    expect(adviceFor(detectBrowser(UA.ffWin))).toContain('141');
    expect(adviceFor(detectBrowser(UA.ffMac))).toContain('dom.webgpu.enabled');
    expect(adviceFor(detectBrowser(UA.safari18))).toContain('Technology Preview');
    expect(adviceFor(detectBrowser(UA.safari26))).toContain('Safari 26');
    expect(adviceFor(detectBrowser(UA.linuxChrome), 'no-adapter')).toContain('Vulkan');
    expect(adviceFor(detectBrowser(UA.linuxChrome), 'insecure')).toContain('localhost');
  });
});
