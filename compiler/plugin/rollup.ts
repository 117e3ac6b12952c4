// hessgen/rollup: the .hess plugin for Rollup (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import type { UnpluginInstance } from 'unplugin';
import { unplugin, type HessgenPluginOptions } from './index.ts';

export type { HessgenPluginOptions };
// Typed through unplugin's own types, so the declarations name rollup's plugin type the way unplugin does.
const plugin: UnpluginInstance<HessgenPluginOptions | undefined>['rollup'] = unplugin.rollup;
export default plugin;
