// Pulling images: the registry client, the fetch walk and its progress events.
export {fetchImage, refKey, type FetchOptions, type FetchResult} from './pull.js'
export type {ProgressEvent, ProgressListener} from './progress.js'
export type {RegistryOptions} from './registry/index.js'
export type {UnpackedImage} from './pull.js'
export {mountImage, unmountImage, unpackStoredImage, type MountImageOptions, type UnpackStoredOptions} from './image-mount.js'
