// hessgen/esbuild: the .hess plugin for Esbuild (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import { unplugin } from './index.ts';

export type { HessgenPluginOptions } from './index.ts';
export default unplugin.esbuild;
