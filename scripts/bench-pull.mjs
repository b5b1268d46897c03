// For `npm run bench`: the pull and unpack issues' benchmark, Berth side by side with containerd (the anchor,
// a private daemon from scripts/bench-containerd.mjs) in the same run.
//
// The image: 8 generated layers of about 25 MiB each (random and text data, fixed seed, gzip, OCI
// media types), cached as an OCI layout under .bench/ and pushed once to Debian's docker-registry
// on 127.0.0.1 (plain http). Both tools pull from it directly; the bytes the registry sends are
// read from its /proc/<pid>/io, so every cold run is checked to have downloaded the whole image,
// and the second-namespace pull reports what it downloaded. Cold runs get a fresh Berth store and
// a containerd daemon with a fresh root, so nothing is cached in either.
//
// The floor: the same layers fetched from the same registry, hashed, gunzipped and extracted by
// curl, sha256sum, gzip and GNU tar, one pipeline per layer, all layers at once (floorPull). No
// tool can pull faster than the programs that do nothing else; Berth's cold pull is held to
// 1.2x of it.
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {berthBin, containerdAvailable, ctrVersion, median, run, startContainerd} from './bench-containerd.mjs'

const GNU_TIME = '/usr/bin/time'
const IMAGE = {count: 8, bytesPerLayer: 25 * 1024 * 1024, seed: 42}
export const REPO_NAME = 'bench/pull'
const MiB = 1024 * 1024

/**
 * Loads the bench image from .bench/, or builds it and stores it there. The cache key covers the
 * generator's parameters and the compiled fixture code, so a changed generator builds afresh.
 * @returns an image object pushImage() accepts, plus the layer digests and total blob bytes.
 */
export async function benchImage(repo, log) {
  const helpers = join(repo, 'dist/test/helpers')
  const hash = createHash('sha256').update(JSON.stringify(IMAGE))
  for (const f of ['oci-image.js', 'tar-writer.js']) hash.update(readFileSync(join(helpers, f)))
  const key = `pull-image-seed${IMAGE.seed}-${hash.digest('hex').slice(0, 12)}`
  const cacheRoot = join(repo, '.bench')
  const dir = join(cacheRoot, key)
  if (!existsSync(join(dir, 'index.json'))) {
    const {buildImage, generatedLayers, writeOciLayout} = await import(join(helpers, 'oci-image.js'))
    const t = Date.now()
    const built = await buildImage({layers: generatedLayers(IMAGE), compression: 'gzip', mediaTypes: 'oci'})
    mkdirSync(cacheRoot, {recursive: true})
    for (const old of readdirSync(cacheRoot)) if (old.startsWith('pull-image-')) rmSync(join(cacheRoot, old), {recursive: true, force: true})
    const tmp = `${dir}.tmp-${process.pid}`
    await writeOciLayout(tmp, {image: built, refName: '1'})
    renameSync(tmp, dir)
    log(`bench image built in ${((Date.now() - t) / 1000).toFixed(1)} s, cached in .bench/${key}`)
  }
  const blob = (digest) => readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)))
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
  const desc = index.manifests[0]
  const manifestBytes = blob(desc.digest)
  const manifest = JSON.parse(manifestBytes.toString())
  const blobs = new Map([[manifest.config.digest, blob(manifest.config.digest)]])
  for (const l of manifest.layers) blobs.set(l.digest, blob(l.digest))
  const layerBytes = manifest.layers.reduce((n, l) => n + l.size, 0)
  // The shape pushImage() and manifestsOf() read.
  const image = {kind: 'image', mediaType: desc.mediaType, manifestDigest: desc.digest, manifestBytes, blobs}
  return {image, layerBytes, minLayer: Math.min(...manifest.layers.map((l) => l.size)), layers: manifest.layers.length}
}

/**
 * Counts what the registry sends: `wchar` of /proc/<pid>/io is every byte the registry process
 * writes, and with its logs off that is only HTTP responses (headers and bodies, sendfile
 * included). Free, unlike a relaying proxy, which added 6-13% to the timed pulls here.
 */
export function registryCounter(pid) {
  const wchar = () => Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1])
  let last = wchar()
  return {
    /** @returns the bytes sent since the last take(). */
    take() {
      const now = wchar()
      const sent = now - last
      last = now
      return sent
    },
  }
}

/** Runs argv under GNU time; returns the run plus the peak RSS of the process tree in KiB. */
export async function runMeasured(argv, opts) {
  if (!existsSync(GNU_TIME)) return {...(await run(argv, opts)), maxRssKiB: NaN}
  const out = join(opts.tmp, `time-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const r = await run([GNU_TIME, '-o', out, '-f', '%M', ...argv], opts)
  let maxRssKiB = NaN
  try {
    maxRssKiB = Number(readFileSync(out, 'utf8').trim().split('\n').pop())
    rmSync(out)
  } catch {
    /* no measurement */
  }
  return {...r, maxRssKiB}
}

/**
 * The floor of a cold pull: every layer fetched (curl), hashed (sha256sum, checked against its
 * digest), gunzipped (gzip) and extracted (GNU tar) by one shell pipeline per layer, all layers
 * at once, into `dir`. @returns wall milliseconds.
 */
export function floorPull({host, repoName, layers, dir}) {
  mkdirSync(dir, {recursive: true})
  const pipelines = layers.map((digest, i) => {
    const out = join(dir, `layer-${i}`)
    mkdirSync(out)
    const url = `http://${host}/v2/${repoName}/blobs/${digest}`
    return `( curl -sSf ${url} | tee >(sha256sum > ${out}.sum) | gzip -dc | tar -x -C ${out} ) &`
  })
  const script = `set -e -o pipefail\n${pipelines.join('\n')}\nfor p in $(jobs -p); do wait $p; done\n`
  const t = process.hrtime.bigint()
  const r = spawnSync('bash', ['-c', script], {encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`the floor pipeline failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`)
  layers.forEach((digest, i) => {
    const sum = readFileSync(join(dir, `layer-${i}.sum`), 'utf8').split(' ')[0]
    if (`sha256:${sum}` !== digest) throw new Error(`the floor pipeline: layer ${i} hashed to ${sum}, not ${digest}`)
  })
  return ms
}

export function check(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/**
 * Runs the pull benchmark.
 * @param {{repo: string, work: string, rounds: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchPull({repo, work, rounds, log}) {
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const berth = [berthBin(repo)]
  const haveContainerd = containerdAvailable()
  const anchorName = haveContainerd
    ? `containerd ${ctrVersion().split(' ').pop()} (/usr/bin/ctr, private daemon)`
    : 'n/a (containerd not installed: bash scripts/setup.sh bench)'
  const notes = []
  const rows = []
  const daemons = new Set()
  const startDaemon = async () => {
    const d = await startContainerd()
    daemons.add(d)
    return d
  }
  const stopDaemon = async (d) => {
    await d.stop()
    daemons.delete(d)
  }

  const img = await benchImage(repo, log)
  const registry = await startRegistry()
  try {
    await pushImage(registry, `${REPO_NAME}:1`, img.image)
    const sent = registryCounter(registry.pid)
    const ref = `${registry.host}/${REPO_NAME}:1`
    notes.push(
      `image: ${img.layers} layers, ${(img.layerBytes / MiB).toFixed(0)} MiB gzip (generatedLayers seed ${IMAGE.seed}), from docker-registry on ` +
        `127.0.0.1 over plain http`,
    )
    let storeSeq = 0
    const freshStore = () => {
      const base = join(work, `pull-store-${storeSeq++}`)
      return {base, env: {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}}
    }
    /** Runs one cold pull, checks it downloaded every layer byte, and returns its measurements. */
    const cold = async (what, argv, env) => {
      sent.take()
      const r = check(what, await runMeasured(argv, {env, tmp: work}))
      const bytes = sent.take()
      if (bytes < img.layerBytes) throw new Error(`${what}: the registry sent ${bytes} bytes, less than the ${img.layerBytes} layer bytes: not a cold run`)
      return {...r, bytes}
    }

    // --- cold fetch, cold pull, second namespace, peak memory: one of each per round ---
    const s = {
      bFetch: [],
      cFetch: [],
      bPull: [],
      cPull: [],
      bSecond: [],
      cSecond: [],
      bSecondBytes: [],
      cSecondBytes: [],
      bColdBytes: [],
      bRss: [],
      cRss: [],
      cDaemonRss: [],
      floor: [],
    }
    const layerDigests = JSON.parse(img.image.manifestBytes.toString()).layers.map((l) => l.digest)
    const fmtS = (xs) => (xs.length ? `${(xs[xs.length - 1] / 1000).toFixed(2)} s` : 'n/a')
    for (let r = 0; r < rounds; r++) {
      const t0 = Date.now()
      let st = freshStore()
      s.bFetch.push((await cold('berth content fetch', [...berth, 'content', 'fetch', '-q', ref], st.env)).ms)
      rmSync(st.base, {recursive: true, force: true})

      if (haveContainerd) {
        const d = await startDaemon()
        s.cFetch.push((await cold('ctr content fetch', d.ctrArgv(['-n', `fetch${r}`, 'content', 'fetch', '--plain-http', ref]), undefined)).ms)
        await stopDaemon(d)
      }

      const floorDir = join(work, `pull-floor-${r}`)
      sent.take()
      s.floor.push(floorPull({host: registry.host, repoName: REPO_NAME, layers: layerDigests, dir: floorDir}))
      if (sent.take() < img.layerBytes) throw new Error('the floor pipeline downloaded less than the layers: not a cold run')
      rmSync(floorDir, {recursive: true, force: true})

      st = freshStore()
      const bp = await cold('berth images pull', [...berth, 'images', 'pull', '-q', ref], st.env)
      s.bPull.push(bp.ms)
      s.bColdBytes.push(bp.bytes)
      s.bRss.push(bp.maxRssKiB)
      sent.take()
      s.bSecond.push(check('berth -n second images pull', await run([...berth, '-n', 'second', 'images', 'pull', '-q', ref], {env: st.env})).ms)
      s.bSecondBytes.push(sent.take())
      rmSync(st.base, {recursive: true, force: true})

      if (haveContainerd) {
        const d = await startDaemon()
        const cp = await cold('ctr images pull', d.ctrArgv(['-n', `pull${r}`, 'images', 'pull', '--plain-http', ref]), undefined)
        s.cPull.push(cp.ms)
        s.cRss.push(cp.maxRssKiB)
        s.cDaemonRss.push(d.vmHWMKiB())
        sent.take()
        s.cSecond.push(check('ctr -n second images pull', await d.ctr(['-n', `second${r}`, 'images', 'pull', '--plain-http', ref])).ms)
        s.cSecondBytes.push(sent.take())
        await stopDaemon(d)
      }
      log(
        `pull round ${r + 1}/${rounds} (${((Date.now() - t0) / 1000).toFixed(1)} s): fetch ${fmtS(s.bFetch)} vs ${fmtS(s.cFetch)}, pull ` +
          `${fmtS(s.bPull)} vs ${fmtS(s.cPull)} (floor ${fmtS(s.floor)}), second namespace ${fmtS(s.bSecond)} vs ${fmtS(s.cSecond)}`,
      )
    }
    const bytes = (xs) => (xs.length ? `${Math.max(...xs).toLocaleString('en-US')} B` : 'n/a')
    rows.push({
      what: `cold fetch (content fetch, ${(img.layerBytes / MiB).toFixed(0)} MiB)`,
      berth: median(s.bFetch),
      anchor: median(s.cFetch),
      unit: 'ms',
      target: '≤ 0.8×',
    })
    rows.push({
      what: 'cold pull (images pull: fetch + unpack)',
      berth: median(s.bPull),
      anchor: median(s.cPull),
      unit: 'ms',
      target: '≤ 0.5×',
      note: 'both fetch and unpack into overlayfs snapshots',
    })
    rows.push({
      what: '  against the floor',
      berth: median(s.bPull),
      anchor: median(s.floor),
      unit: 'ms',
      target: '≤ 1.2×',
      note: 'anchor: curl | sha256sum | gzip -d | tar -x, one pipeline per layer, all at once',
    })
    rows.push({
      what: 'pull into a second namespace',
      berth: median(s.bSecond),
      anchor: median(s.cSecond),
      unit: 'ms',
      target: '≤ 0.05×',
      note: 'Berth records the committed snapshots; containerd extracts every layer again',
    })
    // Any layer byte would show: the smallest layer is megabytes, headers and manifests are not.
    const berthSecond = s.bSecondBytes.length ? Math.max(...s.bSecondBytes) : NaN
    rows.push({
      what: '  downloaded (registry bytes sent)',
      text: `Berth ${bytes(s.bSecondBytes)}, containerd ${bytes(s.cSecondBytes)} (max of runs; a cold pull: ${bytes(s.bColdBytes)}); target: 0 layer bytes`,
      ok: berthSecond < 64 * 1024 && berthSecond < img.minLayer,
    })
    rows.push({
      what: 'peak memory of the pull',
      berth: median(s.bRss) / 1024,
      anchor: haveContainerd ? (median(s.cRss) + median(s.cDaemonRss)) / 1024 : NaN,
      unit: 'MiB',
      target: '',
      note: haveContainerd
        ? `containerd: ctr client ${(median(s.cRss) / 1024).toFixed(0)} MiB + daemon VmHWM ${(median(s.cDaemonRss) / 1024).toFixed(0)} MiB`
        : undefined,
    })

    // --- images tag and images ls: one Berth store and one long-lived daemon ---
    const st = freshStore()
    const d = haveContainerd ? await startDaemon() : undefined
    const src = ref
    const bctr = (args) => run([...berth, ...args], {env: st.env})
    check('berth -n ls images pull', await bctr(['-n', 'ls', 'images', 'pull', '-q', src]))
    check('berth -n tag images pull', await bctr(['-n', 'tag', 'images', 'pull', '-q', src]))
    if (d) {
      check('ctr -n ls images pull', await d.ctr(['-n', 'ls', 'images', 'pull', '--plain-http', src]))
      check('ctr -n tag images pull', await d.ctr(['-n', 'tag', 'images', 'pull', '--plain-http', src]))
    }

    // images tag: 900 names in one call; removed again (untimed) after each round.
    const tagT = {b: [], c: []}
    for (let r = 0; r < rounds; r++) {
      const names = Array.from({length: 900}, (_, i) => `example.com/bench/tag-${String(i).padStart(4, '0')}:r${r}`)
      tagT.b.push(check('berth images tag', await bctr(['-n', 'tag', 'images', 'tag', src, ...names])).ms)
      check('berth images rm', await bctr(['-n', 'tag', 'images', 'rm', ...names]))
      if (d) {
        tagT.c.push(check('ctr images tag', await d.ctr(['-n', 'tag', 'images', 'tag', src, ...names])).ms)
        check('ctr images rm', await d.ctr(['-n', 'tag', 'images', 'rm', ...names]))
      }
    }
    rows.push({
      what: 'images tag, 900 names in one call',
      berth: median(tagT.b),
      anchor: median(tagT.c),
      unit: 'ms',
      target: '',
      note: 'ctr 1.6 takes several targets: ctr images tag SRC T1 ... T900',
    })

    // images ls at 1, 100, 1000 and 10,000 images, made by tagging the pulled image.
    let have = 1
    let cHave = 1
    let cTagRatePerName = NaN
    const grow = async (to) => {
      const names = Array.from({length: to - have}, (_, i) => `example.com/bench/ls-${String(have + i).padStart(5, '0')}:1`)
      for (let i = 0; i < names.length; i += 1000) check('berth images tag', await bctr(['-n', 'ls', 'images', 'tag', src, ...names.slice(i, i + 1000)]))
      have = to
      if (!d) return
      // containerd's 10,000: only when the tags it took so far say it finishes in about a minute.
      if (to === 10_000 && (cTagRatePerName * names.length) / 1000 > 60) {
        notes.push(
          `containerd stops at ${cHave} images: tagging ${names.length} more would take about ${((cTagRatePerName * names.length) / 1000).toFixed(0)} s`,
        )
        return
      }
      const t = Date.now()
      for (let i = 0; i < names.length; i += 1000) check('ctr images tag', await d.ctr(['-n', 'ls', 'images', 'tag', src, ...names.slice(i, i + 1000)]))
      if (names.length >= 50) cTagRatePerName = (Date.now() - t) / names.length
      cHave = to
    }
    for (const size of [1, 100, 1000, 10_000]) {
      if (size > have) await grow(size)
      log(`images ls at ${size}`)
      const t = {b: [], c: [], bq: [], cq: []}
      const withQ = size === 1000
      for (let r = 0; r < rounds; r++) {
        const br = check('berth images ls', await bctr(['-n', 'ls', 'images', 'ls']))
        if (br.stdout.trim().split('\n').length !== size + 1) throw new Error(`berth images ls: expected ${size} images`)
        t.b.push(br.ms)
        if (withQ) t.bq.push(check('berth images ls -q', await bctr(['-n', 'ls', 'images', 'ls', '-q'])).ms)
        if (d && cHave === size) {
          const cr = check('ctr images ls', await d.ctr(['-n', 'ls', 'images', 'ls']))
          if (cr.stdout.trim().split('\n').length !== size + 1) throw new Error(`ctr images ls: expected ${size} images`)
          t.c.push(cr.ms)
          if (withQ) t.cq.push(check('ctr images ls -q', await d.ctr(['-n', 'ls', 'images', 'ls', '-q'])).ms)
        }
      }
      rows.push({
        what: `images ls (${size.toLocaleString('en-US')})`,
        berth: median(t.b),
        anchor: median(t.c),
        unit: 'ms',
        target: size === 1000 ? '≤ 150 ms' : '',
        abs: size === 1000 ? 150 : undefined,
      })
      if (withQ) rows.push({what: `images ls -q (${size.toLocaleString('en-US')})`, berth: median(t.bq), anchor: median(t.cq), unit: 'ms', target: ''})
    }
    if (d) await stopDaemon(d)
    rmSync(st.base, {recursive: true, force: true})
  } finally {
    for (const d of daemons) await d.stop()
    await registry.stop()
  }
  return {title: 'images pull (the pull issue)', anchor: anchorName, rows, notes}
}
