// hessgen/vite: the .hess plugin for Vite and Vitest (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import { unplugin } from './index.ts';

export type { HessgenPluginOptions } from './index.ts';
export default unplugin.vite;
