// A second MQTT broker implementation for the integration tests: aedes
// (npm), on 127.0.0.1:PORT. Usage: node test/aedes-broker.mjs PORT
// AEDES_DIR names the directory whose node_modules holds aedes
// (test/run-tests.sh installs it into ~/.cache/mqtt-forward/aedes).
import net from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const port = Number(process.argv[2])
const dir = process.env.AEDES_DIR
if (!port || !dir) {
  console.error('usage: AEDES_DIR=DIR node aedes-broker.mjs PORT')
  process.exit(2)
}
const { Aedes } = await import(pathToFileURL(path.join(dir, 'node_modules', 'aedes', 'aedes.js')).href)
const aedes = await Aedes.createBroker()
const server = net.createServer(aedes.handle)
server.on('error', (e) => {
  console.error(`aedes: ${e.message}`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => console.log(`aedes listening on 127.0.0.1:${port}`))
