// Progress events a push reports, for the CLI to render with the same rows as a pull (ctr's classic display).
import type {Descriptor} from '../oci/index.js'

/** The row key ctr shows: `<kind>-<digest>` (containerd's MakeRefKey). */
export type PushProgressKey = string

export type PushProgressEvent =
  /** Every row is announced first, in walk order. */
  | {readonly type: 'waiting'; readonly key: PushProgressKey; readonly descriptor: Descriptor}
  | {readonly type: 'uploading'; readonly key: PushProgressKey; readonly descriptor: Descriptor; readonly offset: number; readonly total: number}
  /** `done`: sent or mounted from another repository by this push; `exists`: the registry had it already. */
  | {readonly type: 'done' | 'exists'; readonly key: PushProgressKey; readonly descriptor: Descriptor; readonly transferred: number}

export type PushProgressListener = (event: PushProgressEvent) => void
