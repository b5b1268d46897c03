// The snapshot library: snapshot records and directories (SnapshotService), the snapshotters (one
// interface, opened by name), the layer applier and unpacking.
export {GC_ROOT_LABEL, SnapshotService, type PrepareOptions} from './service.js'
export {applyLayer, type ApplyLayerOptions, type ApplyLayerResult, type ApplyMode} from './apply/index.js'
export {performMount, SNAPSHOTTERS, snapshotterName, unmount, type Mount, type Snapshotter, type SnapshotterName} from './snapshotter.js'
export {openSnapshotter} from './snapshotters.js'
export {snapshotGcLabel, UNCOMPRESSED_LABEL, unpackLayers, type UnpackEvent, type UnpackLayer, type UnpackOptions, type UnpackResult} from './unpack.js'
export {diskUsage, mountsUsing, readMounts, type MountInfo, type Usage} from './usage.js'
