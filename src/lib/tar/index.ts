// The tar vocabulary: a streaming reader (layers, archives) and, beside it, a writer.
export {TarReader, type TarHeader, type TarSink} from './reader.js'
