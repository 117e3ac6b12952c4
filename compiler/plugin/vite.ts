// hessgen/vite: the .hess plugin for Vite and Vitest (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import type { UnpluginInstance } from 'unplugin';
import { unplugin, type HessgenPluginOptions } from './index.ts';

export type { HessgenPluginOptions };
// Typed through unplugin's own types, so the declarations name vite's plugin type the way unplugin does.
const plugin: UnpluginInstance<HessgenPluginOptions | undefined>['vite'] = unplugin.vite;
export default plugin;
