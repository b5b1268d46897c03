// Events: the vocabulary (topics and their payload builders), how events print, and their filter
// view. Pure: the store writes and follows the rows (store/event-log.ts, store/event-follow.ts).
export {eventPayload, isTopic, TOPICS, type EventInputs, type EventIO, type EventMount, type Payload, type Topic, type TopicEvent} from './topics.js'
export {formatEventJson, formatEventLine, formatGoTime, formatRfc3339Nano, type EventRecord} from './format.js'
export {rfc3339Nano, type UnixTime} from './time.js'
export {eventAdaptor} from './adaptor.js'
