// Safe layer application: the one entry point the snapshotter and the unpacker use.
export {applyLayerHere as applyLayer, type ApplyLayerOptions, type ApplyLayerResult, type ApplyMode} from './apply.js'
