// Image archives: `images import` (OCI layouts and Docker archives, from a file or stdin) and
// `images export` (an OCI layout with Docker's manifest.json), over the content store, the
// unpacker and, for blobs an export lacks, the pull pipeline's fetcher.
export {importArchive, type ImportedImage, type ImportOptions} from './import.js'
export {exportArchive, type ExportOptions, type ExportResult} from './export.js'
