// hessgen/runtime: the hand-written code generated modules import. Nothing model-specific.
export { createEngine, type EngineOptions, type GpuPlan, type Kernels, type ModelInfo, type Step, type EntryName, type Dim } from './gpu/engine.ts';
export { checkData, type DataLayout } from './gpu/data.ts';
export { requestDevice, deviceFromAdapter, limitsFor, describeAdapter, type DeviceOptions, type GpuContext } from './gpu/device.ts';
export {
  newtonSolve,
  choleskyShifted,
  choleskySolve,
  type NewtonProblem,
  type NewtonEvaluation,
  type NewtonOptions,
  type NewtonResult,
  type NewtonIteration,
  type NewtonStopReason,
} from './newton.ts';
export {
  levenbergMarquardt,
  gaussNewtonProblem,
  type GaussNewtonProblem,
  type GaussNewtonModule,
  type LevenbergMarquardtOptions,
  type LevenbergMarquardtResult,
} from './levenberg-marquardt.ts';
export {
  sparseNewtonSolve,
  sparseNewtonProblem,
  type SparseNewtonProblem,
  type SparseNewtonOptions,
  type SparseNewtonResult,
  type SparseHessianModule,
} from './sparse-newton.ts';
export { analyzeCholesky, SparseCholesky, type CholeskyAnalysis, type AnalyzeOptions } from './sparse-cholesky.ts';
export { fillReducingOrder, type OrderingMethod, type SymmetricPattern } from './sparse-ordering.ts';
export { newtonCgSolve, type HvpObjective, type NewtonCgOptions, type NewtonCgResult } from './newton-cg.ts';
export { createDenseKernels, DENSE_ASSIGN, DENSE_ADD, DENSE_ADD_MIRROR, type DenseKernels } from './wasm/dense.ts';
