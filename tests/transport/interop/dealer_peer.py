"""Interop peer: a pyzmq DEALER that calls our ROUTER and checks every echo.

usage: dealer_peer.py <endpoint> <count>
Sends <count> requests [b"", b"req-<i>", bytes 0..255, b""] with routing id b"py-dealer", expects
[b"", b"echo:req-<i>", bytes 0..255, b""] back for each, in order. Prints a JSON summary; exit 0 on success.
"""
import json
import sys

import zmq

endpoint, count = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.setsockopt(zmq.ROUTING_ID, b"py-dealer")
sock.connect(endpoint)
binary = bytes(range(256))
for i in range(count):
    sock.send_multipart([b"", f"req-{i}".encode(), binary, b""])

poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
for i in range(count):
    if not poller.poll(5000):
        print(f"no reply for req-{i}", file=sys.stderr)
        sys.exit(1)
    frames = sock.recv_multipart()
    want = [b"", f"echo:req-{i}".encode(), binary, b""]
    if frames != want:
        print(f"reply {i} was {frames!r}, expected {want!r}", file=sys.stderr)
        sys.exit(1)
print(json.dumps({"ok": True, "replies": count, "libzmq": zmq.zmq_version()}))
sock.close()
ctx.term()
