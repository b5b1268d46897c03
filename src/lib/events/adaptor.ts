// The filter view of an event (containerd's envelope adaptor): `namespace`, `topic` and
// `event.<field>` over the payload, with `labels` a map. Pure.
import type {Adaptor} from '../filters/index.js'
import {objectAdaptor} from '../filters/index.js'
import type {EventRecord} from './format.js'

/** The filter view of an event: `namespace`, `topic` and `event.<field>` (labels as a map). */
export function eventAdaptor(e: EventRecord): Adaptor {
  let inner: Adaptor | undefined
  return {
    field(path) {
      if (path.length === 1 && path[0] === 'namespace') return e.namespace
      if (path.length === 1 && path[0] === 'topic') return e.topic
      if (path[0] === 'event' && path.length > 1) {
        inner ??= objectAdaptor(JSON.parse(e.payloadJson) as object, ['labels'])
        return inner.field(path.slice(1))
      }
      return undefined
    },
  }
}
