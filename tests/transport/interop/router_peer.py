"""Interop peer: a pyzmq ROUTER that our DEALER calls.

usage: router_peer.py <endpoint>
Binds, prints "ready". For each [identity, b"", *payload] it answers
[identity, b"", b"from-python", identity, *payload]; on payload [b"bye"] it answers [identity, b"", b"bye"]
and exits 0. Exits 1 if nothing arrives for 10 s.
"""
import sys

import zmq

ctx = zmq.Context()
sock = ctx.socket(zmq.ROUTER)
sock.setsockopt(zmq.LINGER, 1000)
sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
sock.bind(sys.argv[1])
print("ready", flush=True)
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
while True:
    if not poller.poll(10000):
        print("no request for 10 s", file=sys.stderr)
        sys.exit(1)
    identity, delimiter, *payload = sock.recv_multipart()
    if delimiter != b"":
        print(f"missing delimiter: {delimiter!r}", file=sys.stderr)
        sys.exit(1)
    if payload == [b"bye"]:
        sock.send_multipart([identity, b"", b"bye"])
        break
    sock.send_multipart([identity, b"", b"from-python", identity, *payload])
sock.close()
ctx.term()
