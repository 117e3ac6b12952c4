// Prints whether the dense kernels run WebAssembly SIMD in this process (test/wasm: HESSGEN_DENSE=js).
import { createDenseKernels } from '../../runtime/wasm/dense.ts';
console.log(`simd ${createDenseKernels().simd}`);
