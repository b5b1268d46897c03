// Sizes and durations as ctr prints them (containerd's progress.Bytes, go-units).

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

/** `progress.Bytes` / go-units CustomSize("%02.1f %s", n, 1024): `961.0 B`, `72.7 MiB`. */
export function formatBytes(n: number): string {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1).padStart(2, '0')} ${BINARY_UNITS[unit]}`
}

/** ctr's summary line: `elapsed: %-4.1fs\ttotal: %7.6v\t(%v/s)\t` (note the 6-char truncation). */
export function formatSummary(elapsedSeconds: number, totalBytes: number): string {
  const elapsed = elapsedSeconds.toFixed(1).padEnd(4)
  const total = formatBytes(totalBytes).slice(0, 6).padStart(7)
  const rate = formatBytes(elapsedSeconds > 0 ? totalBytes / elapsedSeconds : 0)
  return `elapsed: ${elapsed}s\ttotal: ${total}\t(${rate}/s)\t`
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']

/** go-units HumanSize: decimal units, 4 significant digits: `3.375MB`, `961B`. */
export function humanSize(n: number): string {
  let value = n
  let unit = 0
  while (value >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${Number(value.toPrecision(4))}${DECIMAL_UNITS[unit]}`
}

/** go-units HumanDuration: `Less than a second`, `5 minutes`, `About an hour`, `3 days`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.floor(ms / 60_000)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.round(ms / 3_600_000)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`
}

/**
 * Go's time.Duration.String for a span in milliseconds: `95.71432ms`, `1.234567s`, `2m3.5s`,
 * `0s` (what ctr prints after `done:`).
 */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6)
  if (ns === 0) return '0s'
  const trim = (n: number, digits: number) => n.toFixed(digits).replace(/\.?0+$/, '')
  if (ns < 1000) return `${ns}ns`
  if (ns < 1e6) return `${trim(ns / 1e3, 3)}µs`
  if (ns < 1e9) return `${trim(ns / 1e6, 6)}ms`
  const totalSeconds = ns / 1e9
  const h = Math.floor(totalSeconds / 3600)
  const m = Math.floor((totalSeconds % 3600) / 60)
  const sec = trim(totalSeconds - h * 3600 - m * 60, 9)
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${sec}s`
}
