// Writes the manual pages, dist/man/ctr.1 and one page per topic or top-level command
// (ctr-images.1, ctr-run.1, ...), from the built command definitions: the same summaries, usage
// lines, descriptions and flags as --help. package.json's "man" must list exactly these pages
// (npm installs them): the build fails when it does not.
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const {COMMANDS} = await import(join(root, 'dist/src/commands/index.js'))
const {COMMAND_TABLE} = await import(join(root, 'dist/src/commands/registry.js'))
const {globalFlags} = await import(join(root, 'dist/src/cli/flags.js'))
const {unwrap, usageLine} = await import(join(root, 'dist/src/cli/help-text.js'))

const outDir = join(root, 'dist/man')
rmSync(outDir, {recursive: true, force: true})
mkdirSync(outDir, {recursive: true})
const date = 'Berth'
const version = pkg.version

/** Text as roff: backslashes escaped, hyphens as minus signs, no line starting a request. */
const roff = (text) =>
  String(text ?? '')
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n')

/** A description as roff paragraphs (indented lines kept as they are). */
const paragraphs = (text) =>
  unwrap(text ?? '')
    .split(/\n{2,}/)
    .map((p) => `.PP\n${roff(p.replaceAll('<%= config.bin %>', 'ctr'))}`)
    .join('\n')

const flagLines = (flags) =>
  Object.entries(flags ?? {})
    .filter(([, f]) => !f.hidden)
    .map(([name, f]) => {
      const spelled = `${f.char ? `-${f.char}, ` : ''}--${name}${f.type === 'option' ? '=VALUE' : ''}`
      const extra = [
        f.options ? `one of ${f.options.join(', ')}` : '',
        f.default !== undefined && f.type === 'option' ? `default ${f.default}` : '',
        f.env ? `env ${f.env}` : '',
      ]
        .filter(Boolean)
        .join('; ')
      return `.TP\n.B ${roff(spelled)}\n${roff(f.summary ?? f.description ?? '')}${extra ? ` (${roff(extra)})` : ''}`
    })
    .join('\n')

const header = (name, section, title) =>
  `.TH ${roff(name.toUpperCase())} ${section} "${date}" "berth ${version}" "Berth manual"\n.SH NAME\n${roff(name)} \\- ${roff(title)}\n`

const visible = Object.keys(COMMANDS)
  .filter((id) => !COMMAND_TABLE.hidden.has(id))
  .sort()
const topics = [...new Set(visible.filter((id) => id.includes(':')).map((id) => id.split(':')[0]))]
const singles = visible.filter((id) => !id.includes(':'))
const topicSummary = (t) => pkg.oclif.topics[t]?.description ?? t
const ownFlags = (cls) => Object.fromEntries(Object.entries(cls.flags ?? {}).filter(([name]) => !(name in globalFlags)))

/** One command's section (or a whole page's body for a top-level command). */
const commandText = (id, cls, heading) => {
  const examples = (cls.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', 'ctr'))
  return [
    heading,
    `.PP\n.B ctr ${roff(usageLine(id, cls))}`,
    paragraphs(cls.summary ?? ''),
    cls.description ? paragraphs(cls.description) : '',
    Object.keys(ownFlags(cls)).length > 0 ? `.PP\nOptions:\n.RS\n${flagLines(ownFlags(cls))}\n.RE` : '',
    examples.length > 0 ? `.PP\nExamples:\n.RS\n${examples.map((e) => `.nf\n${roff(e)}\n.fi`).join('\n')}\n.RE` : '',
  ]
    .filter(Boolean)
    .join('\n')
}

const pages = {}
const seeAlso = (names) => `.SH SEE ALSO\n${names.map((n) => `.BR ${roff(n)} (1)`).join(',\n')}\n`
const allPages = ['ctr', ...topics.map((t) => `ctr-${t}`), ...singles.map((s) => `ctr-${s}`)]

const commandItems = [...topics.map((t) => [t, topicSummary(t)]), ...singles.map((s) => [s, COMMANDS[s].summary])]
pages.ctr = [
  header('ctr', 1, pkg.description),
  '.SH SYNOPSIS\n.B ctr\n[global options] command [command options] [arguments...]\n',
  `.SH DESCRIPTION\n.PP\n${roff(
    'Berth is a daemonless, containerd-compatible container tool. ' +
      "Its ctr takes the commands, flags and output formats of containerd's ctr; " +
      'every call opens the store (SQLite and files) itself, and containers run under runc, watched by conmon.',
  )}\n`,
  `.SH GLOBAL OPTIONS\n${flagLines(globalFlags)}\n.TP\n.B \\-h, \\-\\-help\nshow help\n.TP\n.B \\-v, \\-\\-version\nprint the version\n`,
  `.SH COMMANDS\n${commandItems.map(([n, s]) => `.TP\n.B ${roff(n)}\n${roff(s)}`).join('\n')}\n`,
  `.SH EXIT STATUS\n${roff(
    '0 success, 1 internal error, 2 invalid argument or usage, 3 not found, 4 already exists, 5 failed precondition, ' +
      '6 unavailable (also --timeout), 7 permission denied, 8 data loss. ' +
      "run passes the container's status through (125 when ctr failed before the process started).",
  )}\n`,
  seeAlso(allPages.slice(1)),
].join('')

for (const t of topics) {
  const ids = visible.filter((id) => id.startsWith(`${t}:`))
  pages[`ctr-${t}`] = [
    header(`ctr-${t}`, 1, topicSummary(t)),
    `.SH SYNOPSIS\n.B ctr ${roff(t)}\ncommand [command options] [arguments...]\n`,
    `.SH COMMANDS\n${ids.map((id) => commandText(id, COMMANDS[id], `.SS ${roff(id.split(':')[1])}`)).join('\n')}\n`,
    `.SH GLOBAL OPTIONS\n${roff('See ctr(1); they may come before or after the command words.')}\n`,
    seeAlso(['ctr']),
  ].join('')
}
for (const s of singles) {
  pages[`ctr-${s}`] = [header(`ctr-${s}`, 1, COMMANDS[s].summary), `.SH DESCRIPTION\n${commandText(s, COMMANDS[s], '')}\n`, seeAlso(['ctr'])].join('')
}

for (const [name, text] of Object.entries(pages)) writeFileSync(join(outDir, `${name}.1`), text)

const listed = (pkg.man ?? []).map((p) => p.replace(/^\.\//, '')).sort()
const written = allPages.map((p) => `dist/man/${p}.1`).sort()
if (JSON.stringify(listed) !== JSON.stringify(written)) {
  console.error(`package.json "man" must list exactly the generated pages:\n${JSON.stringify(written, null, 2)}`)
  process.exit(1)
}
