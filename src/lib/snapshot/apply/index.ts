// Safe layer application: the entry points the snapshotter and the unpacker use.
//
// `applyLayer` runs each layer in a small worker-thread pool (pool.ts), so that layers applied
// at once share the cores; `applyLayerHere` does the same work in the calling thread.
export {applyLayerHere, type ApplyLayerOptions, type ApplyLayerResult, type ApplyMode} from './apply.js'
export {applyLayerPooled as applyLayer} from './pool.js'
