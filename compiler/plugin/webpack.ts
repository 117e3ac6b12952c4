// hessgen/webpack: the .hess plugin for Webpack (see ./index.ts). `hessgen()` or `hessgen({ types: false })`.
import type { UnpluginInstance } from 'unplugin';
import { unplugin, type HessgenPluginOptions } from './index.ts';

export type { HessgenPluginOptions };
// Typed through unplugin's own types, so the declarations name webpack's plugin type the way unplugin does.
const plugin: UnpluginInstance<HessgenPluginOptions | undefined>['webpack'] = unplugin.webpack;
export default plugin;
