import assert from 'node:assert/strict'
import {test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseCpuQuantity, parseMemoryQuantity, planKube, toYaml} from '../../../../src/lib/pods/kube.js'
import {parseYaml} from '../../../../src/lib/pods/yaml.js'

const manifest = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {name: 'web', namespace: 'prod', labels: {app: 'web', 'example.com/tier': 'front end'}},
  spec: {
    containers: [
      {
        name: 'srv',
        image: '127.0.0.1:5000/library/bb:1',
        command: ['sh', '-c', 'echo "a: b" # not a comment'],
        env: [
          {name: 'PATH', value: '/usr/bin:/bin'},
          {name: 'EMPTY', value: ''},
          {name: 'N', value: '42'},
          {name: 'B', value: 'true'},
        ],
        workingDir: '/srv',
        ports: [{containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1', protocol: 'TCP'}],
        resources: {limits: {memory: '16777216', cpu: '500m'}},
      },
      {name: 'side', image: 'busybox', command: ['-x', '--', '~', 'null', '1.5']},
    ],
    hostname: 'webhost',
  },
}

test('toYaml writes kubectl-layout YAML that parseYaml reads back unchanged', () => {
  const yaml = toYaml(manifest)
  assert.match(yaml, /^apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n/)
  // kubectl's layout: sequence items at their key's indentation; strings YAML 1.1 would misread quoted.
  assert.match(yaml, /\nspec:\n  containers:\n  - name: srv\n/)
  assert.match(yaml, /\n    - name: "N"\n      value: "42"\n/)
  assert.match(yaml, /\n    - name: B\n      value: "true"\n/)
  assert.deepEqual(parseYaml(yaml), manifest)
})

test('parseYaml reads what kubectl reads: comments, quotes, flow collections, anchors, block scalars', () => {
  const text = `---
# a pod
apiVersion: v1
kind: Pod
metadata:
  name: x   # trailing comment
  labels: {"a": "b"}
spec:
  containers:
  - name: c
    image: 'it''s'
    args: ["a", "b"]
    command: &cmd
    - sh
    env:
      - name: A
        value: "1"
      - name: S
        value: |
          two
          lines
`
  assert.deepEqual(parseYaml(text), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name: 'x', labels: {a: 'b'}},
    spec: {
      containers: [
        {
          name: 'c',
          image: "it's",
          args: ['a', 'b'],
          command: ['sh'],
          env: [
            {name: 'A', value: '1'},
            {name: 'S', value: 'two\nlines\n'},
          ],
        },
      ],
    },
  })
})

test('a hostile manifest is refused in bounded time with the line it fails on: no stack overflow, no quadratic key check, no alias bomb', () => {
  const bomb = `a: &a [1,1,1,1,1,1,1,1,1]\n${Array.from(
    {length: 9},
    (_, i) =>
      `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
        .fill(i ? `*${'b'.repeat(i)}` : '*a')
        .join(',')}]`,
  ).join('\n')}`
  const cases: [string, RegExp][] = [
    ['a: 1\n---\nb: 2', /2 documents; one Pod per file/],
    ['a:\n  c: 1\n  c: 2\n', /line 3: duplicate key "c"/],
    ['a:\n    b: 1\n  c: 2', /manifest line/],
    [`a: ${'['.repeat(3000)}`, /nested more than 64 deep/],
    [`${'- '.repeat(3000)}x`, /nested or indented more than 256 columns/],
    [`${'? '.repeat(3000)}x`, /nested or indented more than 256 columns/],
    [Array.from({length: 600}, (_, i) => `${' '.repeat(i)}k:`).join('\n'), /line 258: nested or indented more than 256 columns/],
    [bomb, /alias/i],
    ['a: "'.concat('x'.repeat(5 * 1024 * 1024), '"'), /larger than 4 MiB/],
  ]
  for (const [bad, message] of cases) {
    assert.throws(
      () => parseYaml(bad),
      (err) => errorKind(err) === 'invalid argument' && message.test((err as Error).message),
      String(message),
    )
  }
  // 20,000 keys in one map: the duplicate check is one pass (the parser's own is quadratic: minutes).
  const wide = Array.from({length: 20_000}, (_, i) => `k${i}: v`).join('\n')
  assert.equal(Object.keys(parseYaml(wide) as object).length, 20_000)
})

test('planKube maps a manifest to pod and container options and refuses what it cannot honour', () => {
  const plan = planKube(toYaml(manifest))
  assert.deepEqual(plan.pod, {
    name: 'web',
    k8sNamespace: 'prod',
    labels: {app: 'web', 'example.com/tier': 'front end'},
    hostname: 'webhost',
    hostNetwork: false,
    ports: [{hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp'}],
  })
  assert.deepEqual(plan.containers[0], {
    name: 'srv',
    image: '127.0.0.1:5000/library/bb:1',
    args: ['sh', '-c', 'echo "a: b" # not a comment'],
    keepEntrypoint: false,
    env: ['PATH=/usr/bin:/bin', 'EMPTY=', 'N=42', 'B=true'],
    cwd: '/srv',
    memoryLimit: 16777216,
    cpus: 0.5,
    tty: false,
  })
  const refusals: [unknown, RegExp][] = [
    [{...manifest, kind: 'Deployment'}, /kind "Deployment" is not supported; only Pod/],
    [{...manifest, spec: {...manifest.spec, volumes: []}}, /spec.volumes is not supported/],
    [{...manifest, spec: {containers: [{name: 'a', image: 'b', livenessProbe: {}}]}}, /spec.containers\[0\].livenessProbe is not supported/],
    [{...manifest, spec: {containers: [{name: 'a', image: 'b', env: [{name: 'X', valueFrom: {}}]}]}}, /valueFrom is not supported/],
    [{...manifest, spec: {containers: []}}, /at least one container/],
    [
      {...manifest, spec: {containers: [{name: 'a', image: 'b', ports: [{containerPort: 'http'}]}]}},
      /does not match the Kubernetes v1 Pod schema: spec.containers\[0\].ports\[0\].containerPort must be integer/,
    ],
    [{...manifest, metadata: {name: 7}}, /schema: metadata.name must be string/],
  ]
  for (const [doc, message] of refusals) {
    assert.throws(
      () => planKube(JSON.stringify(doc)),
      (err) => errorKind(err) === 'invalid argument' && message.test((err as Error).message),
      String(message),
    )
  }
  assert.equal(parseMemoryQuantity('128Mi'), 128 * 1024 * 1024)
  assert.equal(parseMemoryQuantity('1G'), 1e9)
  assert.equal(parseCpuQuantity('250m'), 0.25)
  assert.equal(parseCpuQuantity('2'), 2)
})
