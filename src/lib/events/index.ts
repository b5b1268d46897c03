// Events: topics, how they print, and following the log. Rows are written by the store.
export {Topics, type Topic} from './topics.js'
export {formatEventJson, formatEventLine, formatGoTime, formatRfc3339Nano} from './format.js'
export {eventAdaptor, followEvents, parseTimeBound, POLL_INTERVAL_MS, type FollowOptions} from './follow.js'
