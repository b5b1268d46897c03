// For `npm run bench`: the drop-in issue's rows, images export, import (a Docker archive, from a
// file and from stdin) and push (cold, then with every blob already there), Berth side by side
// with containerd's ctr on a private daemon in the same run.
//
// The image is the pull bench's (bench-pull.mjs). Every cold run starts from nothing: a fresh Berth
// store or a fresh containerd root, and for pushes a fresh, empty registry, so that neither tool
// can skip an upload (Berth would otherwise mount blobs across repositories of one registry).
import {existsSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {berthBin, containerdAvailable, ctrVersion, median, run, startContainerd} from './bench-containerd.mjs'
import {benchImage, check, REPO_NAME, runMeasured} from './bench-pull.mjs'

const MiB = 1024 * 1024

/**
 * Runs the archive and push benchmark.
 * @param {{repo: string, work: string, rounds: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchArchive({repo, work, rounds, log}) {
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const berth = berthBin(repo)
  const haveContainerd = containerdAvailable()
  const anchorName = haveContainerd
    ? `containerd ${ctrVersion().split(' ').pop()} (/usr/bin/ctr, private daemon)`
    : 'n/a (containerd not installed: bash scripts/setup.sh bench)'
  const notes = []
  const rows = []
  const img = await benchImage(repo, log)
  const source = await startRegistry()
  const daemons = new Set()
  let seq = 0
  const freshStore = () => {
    const base = join(work, `archive-store-${seq++}`)
    return {base, env: {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}}
  }
  const daemon = async () => {
    const d = await startContainerd()
    daemons.add(d)
    return d
  }
  const stop = async (d) => {
    await d.stop()
    daemons.delete(d)
  }
  try {
    await pushImage(source, `${REPO_NAME}:1`, img.image)
    const ref = `${source.host}/${REPO_NAME}:1`

    // A Docker archive (`docker save` format), written by skopeo, the import rows' input.
    const dockerArchive = join(work, 'bench-docker-archive.tar')
    if (!existsSync(dockerArchive)) {
      check('skopeo copy', await run(['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `docker-archive:${dockerArchive}:bench/archive:1`]))
    }
    notes.push(
      `image: ${img.layers} layers, ${(img.layerBytes / MiB).toFixed(0)} MiB gzip; Docker archive by skopeo: ` +
        `${(statSync(dockerArchive).size / MiB).toFixed(0)} MiB (layers uncompressed)`,
    )

    let importedByContainerd = false
    const s = {
      bExport: [],
      cExport: [],
      bImport: [],
      cImport: [],
      bImportRss: [],
      bStdinRss: [],
      bStdin: [],
      bPush: [],
      cPush: [],
      bPushWarm: [],
      cPushWarm: [],
    }
    for (let r = 0; r < rounds; r++) {
      const t0 = Date.now()
      // export: from a store that holds the pulled image
      const st = freshStore()
      check('berth images pull', await run([berth, 'images', 'pull', '-q', ref], {env: st.env}))
      const bOut = join(work, `export-b-${r}.tar`)
      s.bExport.push(check('berth images export', await run([berth, 'images', 'export', bOut, ref], {env: st.env})).ms)
      const d = haveContainerd ? await daemon() : undefined
      // The oracle: containerd's own ctr imports what Berth exported (and unpacks it).
      if (d && r === 0) {
        check("ctr images import of Berth's export", await d.ctr(['-n', 'fromberth', 'images', 'import', bOut]))
        if (!(await d.ctr(['-n', 'fromberth', 'images', 'ls', '-q'])).stdout.includes(ref)) throw new Error(`ctr imported Berth's export but lists no ${ref}`)
        importedByContainerd = true
      }
      rmSync(bOut, {force: true})
      if (d) {
        check('ctr images pull', await d.ctr(['images', 'pull', '--plain-http', ref]))
        const cOut = join(work, `export-c-${r}.tar`)
        s.cExport.push(check('ctr images export', await d.ctr(['images', 'export', cOut, ref])).ms)
        rmSync(cOut, {force: true})
      }

      // push, cold (an empty registry) then warm (every blob already there)
      const target = await startRegistry()
      try {
        const bDst = `${target.host}/bench/pushed-b:1`
        s.bPush.push(check('berth images push', await run([berth, 'images', 'push', '--plain-http', bDst, ref], {env: st.env})).ms)
        s.bPushWarm.push(check('berth images push (warm)', await run([berth, 'images', 'push', '--plain-http', bDst, ref], {env: st.env})).ms)
        if (d) {
          const cDst = `${target.host}/bench/pushed-c:1`
          s.cPush.push(check('ctr images push', await d.ctr(['images', 'push', '--plain-http', cDst, ref])).ms)
          s.cPushWarm.push(check('ctr images push (warm)', await d.ctr(['images', 'push', '--plain-http', cDst, ref])).ms)
        }
      } finally {
        await target.stop()
      }
      if (d) await stop(d)
      rmSync(st.base, {recursive: true, force: true})

      // import of the Docker archive into nothing: from a file, then from stdin
      const fi = freshStore()
      const bi = check('berth images import', await runMeasured([berth, 'images', 'import', dockerArchive], {env: fi.env, tmp: work}))
      s.bImport.push(bi.ms)
      s.bImportRss.push(bi.maxRssKiB)
      rmSync(fi.base, {recursive: true, force: true})
      const si = freshStore()
      const bs = check(
        'berth images import -',
        await runMeasured(['sh', '-c', `exec "$0" images import - <"$1"`, berth, dockerArchive], {env: si.env, tmp: work}),
      )
      s.bStdin.push(bs.ms)
      s.bStdinRss.push(bs.maxRssKiB)
      rmSync(si.base, {recursive: true, force: true})
      if (haveContainerd) {
        const d2 = await daemon()
        s.cImport.push(check('ctr images import', await d2.ctr(['images', 'import', dockerArchive])).ms)
        await stop(d2)
      }
      log(`archive round ${r + 1}/${rounds} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    }
    rows.push({what: 'images export (OCI archive)', berth: median(s.bExport), anchor: median(s.cExport), unit: 'ms', target: '≤ 0.8×'})
    if (haveContainerd)
      rows.push({
        what: "  containerd's ctr imports Berth's export",
        text: importedByContainerd ? 'yes (import and unpack, then listed)' : 'not tried',
        ok: importedByContainerd,
      })
    rows.push({
      what: 'images import (Docker archive, file)',
      berth: median(s.bImport),
      anchor: median(s.cImport),
      unit: 'ms',
      target: '≤ 0.8×',
      note: 'both store the blobs and unpack into overlayfs',
    })
    rows.push({what: 'images import - (the same, stdin)', berth: median(s.bStdin), anchor: median(s.cImport), unit: 'ms', target: ''})
    rows.push({
      what: '  peak memory: stdin vs file',
      text:
        `stdin ${(median(s.bStdinRss) / 1024).toFixed(0)} MiB, file ${(median(s.bImportRss) / 1024).toFixed(0)} MiB (archive ` +
        `${(statSync(dockerArchive).size / MiB).toFixed(0)} MiB); target: stdin no more than file`,
      ok: median(s.bStdinRss) <= median(s.bImportRss) * 1.1,
    })
    rows.push({what: 'images push, cold (empty registry)', berth: median(s.bPush), anchor: median(s.cPush), unit: 'ms', target: '≤ 0.8×'})
    rows.push({what: 'images push, every blob already there', berth: median(s.bPushWarm), anchor: median(s.cPushWarm), unit: 'ms', target: '≤ 0.8×'})
  } finally {
    for (const d of daemons) await d.stop()
    await source.stop()
  }
  return {title: 'images export, import and push (the drop-in issue)', anchor: anchorName, rows, notes}
}
