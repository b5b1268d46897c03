import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {toJson} from '../../cli/output.js'
import {formatRfc3339Nano} from '../../lib/events/format.js'
import {getPod, podView} from '../../lib/pods/index.js'

export default class PodsInspect extends RuntimeCommand {
  static override summary = 'show a pod as JSON'
  static override description =
    'Print a pod: id, name, status, hostname, labels, shared namespaces and their pins, network (mode, networks, ports, IPs), the Kubernetes ' +
    'metadata (namespace, uid, attempt), creation time and its containers with their task status.'
  static override args = {pod: Args.string({required: true, description: 'pod id, name or id prefix'})}

  async run(): Promise<void> {
    const {args} = await this.parse(PodsInspect)
    const rt = await this.taskRuntime()
    const view = await podView(rt, getPod(rt.store, rt.ns, args.pod))
    this.out(toJson({...view, CreatedAt: formatRfc3339Nano(view.CreatedAt)}))
  }
}
