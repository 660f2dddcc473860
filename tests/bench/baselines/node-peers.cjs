// Node + the zeromq package, the peer a user would otherwise pick. Run with Node (its JS API does not
// work under Bun). Modes:
//   node node-peers.cjs echo <endpoint>                   ROUTER echo server; prints "ready"
//   node node-peers.cjs client <endpoint> <inflight> <ms>  DEALER keeping N requests in flight; prints rt/s
const zmq = require(process.env.CARAPACE_ZEROMQ_PATH || "zeromq");

const [mode, endpoint, inflightArg, msArg] = process.argv.slice(2);

function request(n) {
  const hex = n.toString(16).padStart(12, "0");
  return JSON.stringify({
    topic: "tool.invoke.hello.echo",
    correlation: `6f1c2a9e-0000-4000-8000-${hex}`,
    arguments: { message: "x".repeat(110) },
  });
}

async function echo() {
  const router = new zmq.Router({ sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  await router.bind(endpoint);
  console.log("ready");
  for await (const frames of router) await router.send(frames);
}

async function client() {
  const inflight = Number(inflightArg);
  const ms = Number(msArg);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  let sent = 0;
  let done = 0;
  let outstanding = 0;
  const send = async () => {
    outstanding++;
    await dealer.send(["", request(sent++)]);
  };
  for (let i = 0; i < inflight; i++) await send();
  const start = performance.now();
  const deadline = start + ms;
  for await (const frames of dealer) {
    if (frames[frames.length - 1].includes('"heartbeat"')) continue;
    done++;
    outstanding--;
    if (performance.now() < deadline) await send();
    else if (outstanding === 0) break;
  }
  console.log(Math.round(done / ((performance.now() - start) / 1000)));
  dealer.close();
}

(mode === "echo" ? echo() : client()).catch((e) => {
  console.error(e);
  process.exit(1);
});
