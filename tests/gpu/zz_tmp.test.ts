import { it } from 'vitest';
import { testGpu } from '../helpers/gpu';
it('compile', async () => {
  const gpu = await testGpu();
  gpu.device.pushErrorScope('validation');
  for (const e of ['random_u32','random_uniform','random_normal']) gpu.pipeline({shader:'random', entry:e});
  const err = await gpu.device.popErrorScope();
  console.log('ERR', err?.message);
});
