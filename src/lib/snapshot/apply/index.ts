// Safe layer application: the entry points the snapshotter and the unpacker use.
//
// `applyLayer` applies a layer in the calling thread, or in a worker-thread pool when
// BERTH_APPLY_WORKERS=N is set (pool.ts says why that is not the default); `applyLayerHere`
// always uses the calling thread.
export {applyLayerHere, type ApplyLayerOptions, type ApplyLayerResult, type ApplyMode} from './apply.js'
export {applyLayerPooled as applyLayer} from './pool.js'
