// The one place a snapshotter name becomes a Snapshotter: every caller that needs a snapshotter's
// directories, mounts or layout opens it here (or through SnapshotService, which does).
import {NativeSnapshotter} from './native.js'
import {OverlayfsSnapshotter} from './overlayfs.js'
import {type Snapshotter, snapshotterName} from './snapshotter.js'

/** The snapshotter `name` rooted at `<root>/snapshots/<name>`. @throws NotImplemented for an unknown name. */
export function openSnapshotter(root: string, name: string): Snapshotter {
  switch (snapshotterName(name)) {
    case 'overlayfs':
      return new OverlayfsSnapshotter(root)
    case 'native':
      return new NativeSnapshotter(root)
  }
}
