// Pulling images: the fetch walk over the registry client, unpacking, and its progress events.
export {fetchBlobs, fetchImage, refKey, type FetchBlobsOptions, type FetchOptions, type FetchResult} from './pull.js'
export type {ProgressEvent, ProgressListener} from './progress.js'
export type {RegistryOptions} from '../registry/index.js'
export type {UnpackedImage} from './pull.js'
