// Pushing images: the push walk over the registry client, and its progress events.
export {pushImage, type PushOptions, type PushResult} from './push.js'
export type {PushProgressEvent, PushProgressListener} from './progress.js'
