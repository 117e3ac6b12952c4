// hessgen/rollup: the .hess plugin for Rollup (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import { unplugin } from './index.ts';

export type { HessgenPluginOptions } from './index.ts';
export default unplugin.rollup;
