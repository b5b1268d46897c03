import {Flags} from '@oclif/core'
import {CtrCommand} from '../cli/base-command.js'
import {formatFlag} from '../cli/flags.js'
import {formatEventJson, formatEventLine} from '../lib/events/index.js'
import {parseFilters} from '../lib/filters/index.js'
import {followEvents, parseTimeBound} from '../lib/store/index.js'

export default class Events extends CtrCommand {
  static override summary = 'display events (alias: event)'
  static override description = `Print events as they happen, in ctr's format: <timestamp> <namespace> <topic> <payload>.
Filters use containerd's syntax over topic, namespace and event.<field>; several filters are OR'd.
Beyond ctr, events are kept in the store: --since replays history before following, --until stops
at a time, --no-follow prints history and exits.`
  static override examples = [
    "<%= config.bin %> events 'topic~=/tasks/.+,namespace==bb'",
    '<%= config.bin %> events --since 10m --no-follow',
    '<%= config.bin %> events --format json \'topic=="/namespaces/create"\'',
  ]
  static override strict = false // filters
  static override flags = {
    since: Flags.string({summary: 'replay events since this time (RFC 3339 or a duration such as 10m)'}),
    until: Flags.string({summary: 'stop at this time (RFC 3339 or a duration ago)'}),
    'no-follow': Flags.boolean({summary: 'print stored events and exit instead of following'}),
    format: formatFlag,
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Events)
    const filter = parseFilters(argv as string[])
    const sinceMicros = flags.since === undefined ? undefined : parseTimeBound(flags.since)
    const untilMicros = flags.until === undefined ? undefined : parseTimeBound(flags.until)
    const store = await this.store()
    const render = flags.format === 'json' ? formatEventJson : formatEventLine
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
    process.stdout.on('error', onSignal) // a closed pipe (`| head`) ends the stream quietly
    let batch = ''
    for await (const event of followEvents(store, {filter, sinceMicros, untilMicros, follow: !flags['no-follow'], signal: stop.signal})) {
      batch += `${render(event)}\n`
      if (batch.length > 65536) {
        this.out(batch)
        batch = ''
      }
      if (flags['no-follow']) continue
      this.out(batch) // following: show each event at once
      batch = ''
    }
    this.out(batch)
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal)
  }
}
