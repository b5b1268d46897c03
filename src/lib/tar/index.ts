// The tar vocabulary: a streaming reader (layers, archives) and, beside it, a streaming writer (archives).
export {TarReader, type TarHeader, type TarSink} from './reader.js'
export {encodeTarHeader, streamOutput, tarPadding, tarTrailer, TarWriter, type TarOutput, type TarWriteHeader, type TarWriteType} from './writer.js'
