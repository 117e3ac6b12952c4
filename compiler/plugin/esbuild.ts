// hessgen/esbuild: the .hess plugin for Esbuild (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import type { UnpluginInstance } from 'unplugin';
import { unplugin, type HessgenPluginOptions } from './index.ts';

export type { HessgenPluginOptions };
// Typed through unplugin's own types, so the declarations name esbuild's plugin type the way unplugin does.
const plugin: UnpluginInstance<HessgenPluginOptions | undefined>['esbuild'] = unplugin.esbuild;
export default plugin;
