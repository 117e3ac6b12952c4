// The virtual module playground/build.mjs provides: examples/*.hess as they were at build time.
declare module 'playground:examples' {
  export const examples: readonly { readonly name: string; readonly path: string; readonly source: string }[];
}
