// Checkpoint and restore (seed 002): CRIU discovery, the checkpoint image format, checkpoint, restore.
export {checkpoint, type CheckpointOptions, type CheckpointResult, type CheckpointStep, type CheckpointStepEvent} from './checkpoint.js'
export {restore, type RestoreOptions, type RestoreResult} from './restore.js'
export {criuInfo, findCriu, minimumCriuVersion, type Criu} from './criu.js'
export {Annotation, CHECKPOINT_LABEL, CheckpointMediaType, defaultCheckpointName} from './format.js'
