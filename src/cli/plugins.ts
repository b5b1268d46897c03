// `ctr plugins ls` rendering: ctr's table (tabwriter 4, 8, 4, ' ') and its --detailed form, built
// line by line as ctr's fmt.Fprintln calls write them, so the layout matches byte for byte.
import {pluginStatus, type PluginInfo} from '../lib/introspection/index.js'
import {formatPlatform} from '../lib/oci/platform.js'
import {tabwrite, type TabwriterOptions} from './output.js'

/** ctr's `tabwriter.NewWriter(os.Stdout, 4, 8, 4, ' ', 0)` for plugins. */
const PLUGIN_TABLE: TabwriterOptions = {minwidth: 4, padding: 4}

/** ctr's prettyPlatforms: formatted, deduplicated, sorted, comma-joined; `-` when none. */
export function prettyPlatforms(p: PluginInfo): string {
  const names = [...new Set(p.platforms.map(formatPlatform))].sort()
  return names.length > 0 ? names.join(',') : '-'
}

/** `TYPE ID PLATFORMS STATUS`. */
export function formatPluginTable(plugins: readonly PluginInfo[]): string {
  return tabwrite(['TYPE\tID\tPLATFORMS\tSTATUS\t', ...plugins.map((p) => `${p.type}\t${p.id}\t${prettyPlatforms(p)}\t${pluginStatus(p)}\t`)], PLUGIN_TABLE)
}

/** `--detailed`: Type, ID, Requires, Platforms, Exports, Capabilities, Error per plugin, a blank cell row between. */
export function formatPluginDetails(plugins: readonly PluginInfo[]): string {
  const lines: string[] = []
  plugins.forEach((p, i) => {
    if (i > 0) lines.push('\t\t\t')
    // fmt.Fprintln puts a space between its operands: "Type:\t" and the value make "Type:\t value".
    lines.push(`Type:\t ${p.type}`, `ID:\t ${p.id}`)
    if (p.requires.length > 0) lines.push('Requires:\t', ...p.requires.map((r) => `\t ${r}`))
    if (p.platforms.length > 0) lines.push(`Platforms:\t ${prettyPlatforms(p)}`)
    const exports = Object.entries(p.exports).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    if (exports.length > 0) lines.push('Exports:\t', ...exports.map(([k, v]) => `\t ${k} \t ${v}`))
    if (p.capabilities.length > 0) lines.push(`Capabilities:\t ${p.capabilities.join(',')}`)
    if (p.initError) lines.push('Error:\t', `\t Code:\t ${p.initError.code}`, `\t Message:\t ${p.initError.message}`)
  })
  return tabwrite(lines, PLUGIN_TABLE)
}

/** `--format json`: the plugins with platforms formatted and the status spelled out. */
export function pluginsJson(plugins: readonly PluginInfo[]): unknown[] {
  return plugins.map((p) => ({...p, platforms: p.platforms.map(formatPlatform), status: pluginStatus(p)}))
}
