// hessgen/runtime: the hand-written code generated modules import. Nothing model-specific.
export { createEngine, type EngineOptions, type GpuPlan, type Kernels, type ModelInfo, type Step, type EntryName, type Dim } from './gpu/engine.ts';
export { checkData, type DataLayout } from './gpu/data.ts';
export { requestDevice, deviceFromAdapter, limitsFor, describeAdapter, type DeviceOptions, type GpuContext } from './gpu/device.ts';
export { newtonSolve, choleskyShifted, choleskySolve } from './newton.ts';
export { newtonCgSolve, type HvpObjective, type NewtonCgOptions, type NewtonCgResult } from './newton-cg.ts';
export { createDenseKernels, DENSE_ASSIGN, DENSE_ADD, DENSE_ADD_MIRROR, type DenseKernels } from './wasm/dense.ts';
