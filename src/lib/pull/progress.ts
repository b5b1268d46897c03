// Progress events a pull reports, for the CLI to render (bars on a terminal, lines elsewhere).
import type {Descriptor} from '../oci/index.js'

/** The row key ctr shows: `<kind>-<digest>` (containerd's MakeRefKey). */
export type ProgressKey = string

export type ProgressEvent =
  | {readonly type: 'resolving'; readonly ref: string}
  | {readonly type: 'resolved'; readonly ref: string; readonly descriptor: Descriptor}
  | {readonly type: 'waiting'; readonly key: ProgressKey; readonly descriptor: Descriptor}
  | {readonly type: 'downloading'; readonly key: ProgressKey; readonly descriptor: Descriptor; readonly offset: number; readonly total: number}
  /** `done`: this pull made it visible here (downloaded, or shared with zero bytes); `exists`: it already was. */
  | {readonly type: 'done' | 'exists'; readonly key: ProgressKey; readonly descriptor: Descriptor; readonly transferred: number}

export type ProgressListener = (event: ProgressEvent) => void
