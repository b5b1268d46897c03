// Pushes an image that is in a Berth store (its blobs read straight from `<root>/content/blobs`) to
// a registry over plain HTTP with the distribution API: blobs first (monolithic POST+PUT), then
// manifests and indexes bottom-up by digest, the target under its tag. For tests of checkpoint
// images moving between stores while `ctr images push` does not exist on this branch.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

interface Desc {
  mediaType: string
  digest: string
  size: number
}

const isManifestLike = (mediaType: string) => /manifest|image\.index/.test(mediaType)

/** Push `target` (found in store `root`) to `http://<host>/v2/<repo>` as `<repo>:<tag>`. */
export async function pushStoredImage(root: string, host: string, repo: string, tag: string, target: Desc): Promise<void> {
  const blob = (digest: string) => readFileSync(join(root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length)))
  const done = new Set<string>()
  const uploadBlob = async (d: Desc): Promise<void> => {
    if (done.has(d.digest)) return
    done.add(d.digest)
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status}`)
    const location = new URL(start.headers.get('location')!, `http://${host}`)
    location.searchParams.set('digest', d.digest)
    const put = await fetch(location, {method: 'PUT', body: blob(d.digest), headers: {'content-type': 'application/octet-stream'}})
    if (put.status !== 201) throw new Error(`blob upload ${d.digest}: ${put.status} ${await put.text()}`)
  }
  const putManifest = async (d: Desc, reference: string): Promise<void> => {
    const bytes = blob(d.digest)
    const doc = JSON.parse(bytes.toString('utf8')) as {manifests?: Desc[]; config?: Desc; layers?: Desc[]}
    for (const child of doc.manifests ?? []) {
      if (isManifestLike(child.mediaType)) await putManifest(child, child.digest)
      else await uploadBlob(child)
    }
    for (const child of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await uploadBlob(child)
    const r = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {method: 'PUT', body: bytes, headers: {'content-type': d.mediaType}})
    if (r.status !== 201) throw new Error(`manifest ${reference}: ${r.status} ${await r.text()}`)
  }
  await putManifest(target, tag)
}
