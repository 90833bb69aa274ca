// A second MQTT broker implementation for the integration tests: aedes
// (npm), on 127.0.0.1:PORT. Usage: node test/aedes-broker.mjs PORT
// AEDES_DIR names the directory whose node_modules holds aedes
// (test/run-tests.sh installs it into ~/.cache/mqtt-forward/aedes).
// A cloud broker's quota, from the environment: AEDES_MAX_SUBSCRIPTIONS=N,
// a client holds at most N topic filters, more are refused in the SUBACK
// (EMQX Serverless allows 10).
// A cluster node: AEDES_REDIS_PORT=N shares subscriptions, retained
// messages and sessions through the Redis server on 127.0.0.1:N
// (mqemitter-redis and aedes-persistence-redis), so that two processes
// started with the same N are two nodes of one broker.
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
const load = async (name, file) =>
  (await import(pathToFileURL(path.join(dir, 'node_modules', name, file)).href)).default
const redisPort = Number(process.env.AEDES_REDIS_PORT || 0)
const options = {}
if (redisPort) {
  const redis = { host: '127.0.0.1', port: redisPort }
  options.mq = (await load('mqemitter-redis', 'mqemitter-redis.js'))(redis)
  options.persistence = (await load('aedes-persistence-redis', 'persistence.js'))(redis)
}
const aedes = await Aedes.createBroker(options)
const maxSubscriptions = Number(process.env.AEDES_MAX_SUBSCRIPTIONS || 0)
const held = new Map()
const filters = (client) => {
  if (!held.has(client.id)) held.set(client.id, new Set())
  return held.get(client.id)
}
aedes.authorizeSubscribe = (client, sub, callback) => {
  if (maxSubscriptions > 0) {
    const mine = filters(client)
    if (!mine.has(sub.topic) && mine.size >= maxSubscriptions) {
      console.log(`refused subscription ${mine.size + 1} of ${client.id}: ${sub.topic}`)
      return callback(null, null)
    }
    mine.add(sub.topic)
  }
  callback(null, sub)
}
aedes.on('unsubscribe', (topics, client) => {
  if (client) for (const t of topics) filters(client).delete(t)
})
aedes.on('clientDisconnect', (client) => held.delete(client.id))
const server = net.createServer(aedes.handle)
server.on('error', (e) => {
  console.error(`aedes: ${e.message}`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => console.log(`aedes listening on 127.0.0.1:${port}`))
