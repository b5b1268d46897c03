import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {networkSettingsFrom} from '../../cli/network-flags.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'
import {createPod, parseShare} from '../../lib/pods/index.js'

const many = (summary: string, char?: 'p') => Flags.string({summary, multiple: true, multipleNonGreedy: true, ...(char ? {char} : {})})

export default class PodsCreate extends CtrCommand {
  static override summary = 'create a pod'
  static override description = `Create a pod: Linux namespaces (by default net, ipc and uts) pinned at files under the state directory,
with no infra process, and its networks attached (default: Berth's bridge network). Containers join
it with run --pod or containers create --pod. Prints the pod's id.`
  static override examples = ['<%= config.bin %> pods create -p 127.0.0.1:8080:80 web', '<%= config.bin %> pods create --share ipc,uts --network none batch']
  static override args = {name: Args.string({required: true, description: 'pod name'})}
  static override flags = {
    id: Flags.string({summary: 'pod id [default: random, 64 hex digits]'}),
    hostname: Flags.string({summary: "the pod's hostname [default: its name]"}),
    label: many('label k=v (repeatable)'),
    share: Flags.string({summary: 'namespaces the containers share: any of net,ipc,uts', default: 'net,ipc,uts'}),
    network: many('network: bridge (the default), none, host or a CNI network name (repeatable)'),
    publish: many('publish a port: [IP:]HOSTPORT:CTRPORT[/tcp|udp] (repeatable)', 'p'),
    'k8s-namespace': Flags.string({summary: 'Kubernetes namespace recorded with the pod'}),
    uid: Flags.string({summary: 'Kubernetes uid recorded with the pod'}),
    attempt: Flags.integer({summary: 'attempt number recorded with the pod', min: 0}),
    'cni-path': Flags.string({summary: 'CNI plugin directories separated by colons', env: 'CNI_PATH'}),
    'cni-netconfpath': Flags.string({summary: 'directory of CNI network configs', env: 'NETCONFPATH'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PodsCreate)
    const network =
      flags.network || flags.publish
        ? networkSettingsFrom({
            net: flags.network ?? ['bridge'],
            publish: flags.publish,
            'cni-path': flags['cni-path'],
            'cni-netconfpath': flags['cni-netconfpath'],
          })
        : undefined
    const pod = await createPod(await this.store(), this.namespace(), {
      name: args.name,
      id: flags.id,
      hostname: flags.hostname,
      labels: parseLabelArgs(flags.label ?? []),
      share: parseShare(flags.share),
      network,
      k8sNamespace: flags['k8s-namespace'],
      uid: flags.uid,
      attempt: flags.attempt,
    })
    this.out(`${pod.id}\n`)
  }
}
