import assert from 'node:assert/strict'
import {test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {formatPortMapping, parsePortMapping} from '../../../../src/lib/network/ports.js'

test('-p values: [IP:]HOSTPORT:CTRPORT[/tcp|udp]', () => {
  assert.deepEqual(parsePortMapping('8080:80'), {hostPort: 8080, containerPort: 80, protocol: 'tcp'})
  assert.deepEqual(parsePortMapping('127.0.0.1:8080:80/udp'), {hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp'})
  assert.deepEqual(parsePortMapping(':53:53/UDP'), {hostPort: 53, containerPort: 53, protocol: 'udp'})
  assert.equal(formatPortMapping(parsePortMapping('127.0.0.1:1:2')), '127.0.0.1:1:2/tcp')
})

test('-p refuses what it cannot publish, as invalid arguments', () => {
  for (const bad of ['80', '0:80', '70000:80', '80:x', '1.2.3:80:80', '80:80/sctp', 'a:b:c:d']) {
    assert.throws(
      () => parsePortMapping(bad),
      (err) => errorKind(err) === 'invalid argument',
      bad,
    )
  }
})
