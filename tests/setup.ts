// Every Vitest run checks every GPU dispatch's uniform words against the WGSL struct its entry point reads
// (src/gpu/uniform-layout.ts): a host/shader layout drift fails the kernel's own tests, not silently.
import { setUniformLayoutCheck } from '../src/gpu/device';

setUniformLayoutCheck(true);
