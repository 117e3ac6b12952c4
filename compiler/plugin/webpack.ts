// hessgen/webpack: the .hess plugin for Webpack (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import { unplugin } from './index.ts';

export type { HessgenPluginOptions } from './index.ts';
export default unplugin.webpack;
