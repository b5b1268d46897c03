// For `npm run bench`: the pods issue's rows, Berth side by side with containerd's ctr (a private
// daemon from scripts/bench-containerd.mjs) in the same run, with the same CNI plugins (Debian's
// containernetworking-plugins: bridge + host-local, portmap, firewall).
//
// Podman 4.3 from Debian was the first choice of anchor; on this host it cannot start a container
// (runc refuses the RLIMIT_NOFILE podman asks for: "error setting rlimit type 7"), and it needs
// catatonit for pods. So the anchor is containerd, as the issue allows:
//  - a networked `run --rm IMG ID /bin/true`: Berth `run --rm --net bridge` against containerd's
//    `ctr run --rm --cni` (go-cni's defaults: the first config in /etc/cni/net.d, plugins in
//    /opt/cni/bin; this bench writes its own config there and a /opt/cni/bin link to Debian's
//    plugins only when neither exists, and removes both again);
//  - a pod: Berth `pods create` + two `run -d --pod` + `pods rm --force`, against containerd with
//    the pod made by hand the way a CRI would: `ip netns add`, the CNI plugins called directly
//    (ADD, chained as libcni does), two `ctr run -d --with-ns network:…`, then SIGKILL, `containers rm`, CNI DEL and
//    `ip netns del`. Berth's pod shares net, ipc and uts; the hand-made one shares the network only.
// Every task either tool started is killed and removed at the end, also on failure.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {berthBin, containerdAvailable, ctrVersion, median, run, startContainerd} from './bench-containerd.mjs'
import {check} from './bench-pull.mjs'

const REPO_NAME = 'bench/pods'
const CNI_CONF_DIR = '/etc/cni/net.d'
const CNI_BIN_DIR = '/opt/cni/bin'
const DEBIAN_CNI_DIR = '/usr/lib/cni'

const sh = (argv, input) => spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', input})

/** Calls one CNI plugin the way a runtime does (CNI_* variables, the config on stdin). */
function cniPlugin(command, conf, {netns, id, ifname = 'eth0'}) {
  const res = spawnSync(join(DEBIAN_CNI_DIR, conf.type), [], {
    encoding: 'utf8',
    input: JSON.stringify(conf),
    env: {...process.env, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: DEBIAN_CNI_DIR},
  })
  if (res.status !== 0 && command === 'ADD') throw new Error(`CNI ${conf.type} ADD failed: ${res.stdout}${res.stderr}`)
  return res.stdout ? JSON.parse(res.stdout) : undefined
}

/** Runs a config list as libcni does: ADD in order, each plugin given the previous result; DEL in reverse. */
function cniCall(command, list, where, added) {
  const plugins = command === 'ADD' ? list.plugins : [...list.plugins].reverse()
  let prevResult = added // DEL gets the ADD's final result, as libcni's cache gives it
  for (const plugin of plugins) {
    const conf = {
      cniVersion: list.cniVersion,
      name: list.name,
      ...plugin,
      ...(prevResult ? {prevResult} : {}),
      ...(plugin.capabilities?.portMappings ? {runtimeConfig: {portMappings: []}} : {}),
    }
    const result = cniPlugin(command, conf, where)
    if (command === 'ADD') prevResult = result
  }
  return prevResult
}

/**
 * containerd's `ctr run --rm --cni` leaves the bridge plugin's masquerade rules behind (its CNI DEL
 * runs after the task's network namespace is gone), one chain per run: remove those of this run's
 * containers (their CNI ids start with `<namespace>-`).
 */
function removeLeakedRules(ns) {
  const saved = sh(['iptables-save', '-t', 'nat']).stdout ?? ''
  const chains = new Set()
  for (const line of saved.split('\n')) {
    if (!line.startsWith('-A POSTROUTING ') || !line.includes(`id: \\"${ns}-`)) continue
    const rule = line.slice('-A POSTROUTING '.length)
    const chain = /-j (CNI-[0-9a-f]+)/.exec(rule)?.[1]
    // iptables-save quotes as a shell would: let sh split the rule back into arguments.
    sh(['sh', '-c', `iptables -t nat -D POSTROUTING ${rule}`])
    if (chain) chains.add(chain)
  }
  for (const chain of chains) {
    sh(['iptables', '-t', 'nat', '-F', chain])
    sh(['iptables', '-t', 'nat', '-X', chain])
  }
  return chains.size
}

/**
 * Runs the pods benchmark.
 * @param {{repo: string, work: string, rounds: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchPods({repo, work, rounds, log}) {
  const title = 'Pods and networking (issue 16)'
  if (!containerdAvailable()) return {title, anchor: 'n/a (containerd not installed: bash scripts/setup.sh bench)', rows: [], notes: ['skipped: no containerd']}
  if (!existsSync(join(DEBIAN_CNI_DIR, 'bridge')))
    return {title, anchor: 'n/a', rows: [], notes: ['skipped: containernetworking-plugins not installed (bash scripts/setup.sh)']}
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const {busyboxImage} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
  const {deleteDefaultNetwork} = await import(join(repo, 'dist/test/helpers/network.js'))
  const anchor = `containerd ${ctrVersion().split(' ').pop()} (/usr/bin/ctr, private daemon) with the same CNI plugins`
  const notes = []
  const rows = []
  const ns = `berth-bench-pods-${process.pid}`
  const base = join(work, 'pods-store')
  const bEnv = {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}
  const berth = (args) => run([berthBin(repo), '-n', ns, ...args], {env: bEnv})

  // containerd's CNI config: ours only where the machine has none (go-cni would pick the first).
  const made = {conf: undefined, binLink: false, confDir: false}
  const ctrNet = {bridge: `bbench${process.pid % 100000}`, subnet: `10.${200 + (process.pid % 50)}.0.0/16`}
  const ipamDir = join(work, 'pods-ipam')
  const bridgePlugin = {
    type: 'bridge',
    bridge: ctrNet.bridge,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: {type: 'host-local', ranges: [[{subnet: ctrNet.subnet}]], routes: [{dst: '0.0.0.0/0'}], dataDir: ipamDir},
  }
  const confList = {
    cniVersion: '1.0.0',
    name: 'berth-bench',
    plugins: [bridgePlugin, {type: 'portmap', capabilities: {portMappings: true}}, {type: 'firewall'}],
  }
  const existingConfs = existsSync(CNI_CONF_DIR) ? readdirSync(CNI_CONF_DIR).filter((f) => /\.(conf|conflist|json)$/.test(f)) : []

  let d
  const ctrIds = new Set()
  const netnses = new Map() // name → the CNI ADD result
  const berthPods = new Set()
  const registry = await startRegistry()
  const cleanup = async () => {
    for (const id of ctrIds) {
      await d?.ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => {})
    }
    for (const id of ctrIds) {
      for (let i = 0; i < 50; i++) {
        await d?.ctr(['-n', ns, 'tasks', 'rm', '-f', id]).catch(() => {})
        const r = await d?.ctr(['-n', ns, 'containers', 'rm', id])
        if (!r || r.status === 0 || /not found/.test(r.stderr)) break
        await new Promise((res) => setTimeout(res, 20))
      }
    }
    for (const name of berthPods) await berth(['pods', 'rm', '--force', name]).catch(() => {})
    deleteDefaultNetwork(bEnv.BERTH_STATE) // Berth's bridge and masquerade chain live as long as the host's network
    for (const [netns, added] of netnses) {
      cniCall('DEL', confList, {netns: `/var/run/netns/${netns}`, id: netns}, added)
      sh(['ip', 'netns', 'del', netns])
    }
    sh(['ip', 'link', 'del', ctrNet.bridge])
    removeLeakedRules(ns)
    if (made.conf) rmSync(made.conf, {force: true})
    if (made.confDir) rmSync(CNI_CONF_DIR, {recursive: true, force: true})
    if (made.binLink) unlinkSync(CNI_BIN_DIR)
    await d?.stop()
    await registry.stop?.()
  }
  try {
    if (existingConfs.length > 0) {
      notes.push(`containerd's run --cni row skipped: ${CNI_CONF_DIR} already holds ${existingConfs[0]}, which ctr would use`)
    } else {
      if (!existsSync(CNI_CONF_DIR)) {
        mkdirSync(CNI_CONF_DIR, {recursive: true})
        made.confDir = true
      }
      made.conf = join(CNI_CONF_DIR, '00-berth-bench.conflist')
      writeFileSync(made.conf, JSON.stringify(confList))
      if (!existsSync(CNI_BIN_DIR)) {
        mkdirSync(join(CNI_BIN_DIR, '..'), {recursive: true})
        symlinkSync(DEBIAN_CNI_DIR, CNI_BIN_DIR)
        made.binLink = true
      }
    }
    d = await startContainerd()
    const ctr = (args) => d.ctr(['-n', ns, ...args])
    const image = await busyboxImage()
    await pushImage(registry, `${REPO_NAME}:1`, image)
    const ref = `${registry.host}/${REPO_NAME}:1`
    check('berth images pull', await berth(['images', 'pull', '-q', ref]))
    check('ctr images pull', await ctr(['images', 'pull', '--plain-http', ref]))
    notes.push(
      `image: busybox (test/helpers busyboxImage) from docker-registry on 127.0.0.1; namespace ${ns}; podman 4.3 cannot start containers on this ` +
        `host (RLIMIT_NOFILE), so containerd is the anchor`,
    )

    // 1. A networked run --rm /bin/true, interleaved.
    const s = {bRun: [], cRun: [], bPod: [], cPod: []}
    let seq = 0
    for (let r = 0; r <= rounds; r++) {
      const bid = `bn-${seq++}`
      const b = await berth(['run', '--rm', '--net', 'bridge', ref, bid, '/bin/true'])
      check('berth run --rm --net bridge', b)
      if (existingConfs.length === 0) {
        const cid = `cn-${seq++}`
        ctrIds.add(cid)
        const c = await ctr(['run', '--rm', '--cni', ref, cid, '/bin/true'])
        check('ctr run --rm --cni', c)
        ctrIds.delete(cid)
        if (r > 0) s.cRun.push(c.ms)
      }
      if (r > 0) s.bRun.push(b.ms) // the first round warms caches
    }

    // 2. A pod with two members: create, start both, remove.
    for (let r = 0; r <= rounds; r++) {
      const name = `bp-${seq++}`
      berthPods.add(name)
      const t0 = process.hrtime.bigint()
      check('berth pods create', await berth(['pods', 'create', '--network', 'bridge', name]))
      check('berth run -d --pod', await berth(['run', '-d', '--pod', name, ref, `${name}-a`, 'sleep', '60']))
      check('berth run -d --pod', await berth(['run', '-d', '--pod', name, ref, `${name}-b`, 'sleep', '60']))
      check('berth pods rm --force', await berth(['pods', 'rm', '--force', name]))
      const bMs = Number(process.hrtime.bigint() - t0) / 1e6
      berthPods.delete(name)

      const netns = `bbench-${process.pid}-${seq++}`
      const ids = [`${netns}-a`, `${netns}-b`]
      const t1 = process.hrtime.bigint()
      check('ip netns add', sh(['ip', 'netns', 'add', netns]))
      netnses.set(netns, undefined)
      netnses.set(netns, cniCall('ADD', confList, {netns: `/var/run/netns/${netns}`, id: netns}))
      for (const id of ids) {
        ctrIds.add(id)
        check('ctr run -d --with-ns', await ctr(['run', '-d', '--with-ns', `network:/var/run/netns/${netns}`, ref, id, 'sleep', '60']))
      }
      for (const id of ids) check('ctr tasks kill', await ctr(['tasks', 'kill', '-s', 'SIGKILL', id]))
      for (const id of ids) {
        // as the run bench: retried while the task is still stopping
        for (let i = 0; ; i++) {
          await ctr(['tasks', 'rm', id])
          const rm = await ctr(['containers', 'rm', id])
          if (rm.status === 0) break
          if (i > 200) check('ctr containers rm', rm)
          await new Promise((res) => setTimeout(res, 10))
        }
        ctrIds.delete(id)
      }
      cniCall('DEL', confList, {netns: `/var/run/netns/${netns}`, id: netns}, netnses.get(netns))
      check('ip netns del', sh(['ip', 'netns', 'del', netns]))
      netnses.delete(netns)
      const cMs = Number(process.hrtime.bigint() - t1) / 1e6
      if (r > 0) {
        s.bPod.push(bMs)
        s.cPod.push(cMs)
      }
      log(`pods round ${r}: Berth ${bMs.toFixed(0)} ms, containerd by hand ${cMs.toFixed(0)} ms`)
    }
    const leaked = removeLeakedRules(ns)
    notes.push(
      "masquerade: containerd's config has the bridge plugin's ipMasq (a nat chain per container, as containerd's and nerdctl's defaults do);",
      "  Berth's default network masquerades its whole subnet with one chain, made once (berthMasquerade)",
    )
    if (leaked) notes.push(`containerd's ctr run --rm --cni left ${leaked} masquerade chains in iptables' nat table (removed by this bench); Berth left none`)
    rows.push({what: 'run --rm /bin/true on a CNI bridge', berth: median(s.bRun), anchor: existingConfs.length ? NaN : median(s.cRun), target: '≤ 1.0×'})
    rows.push({what: 'pod + 2 run -d --pod + pods rm --force', berth: median(s.bPod), anchor: median(s.cPod), target: '≤ 1.0×'})
  } finally {
    await cleanup()
  }
  return {title, anchor, rows, notes}
}
