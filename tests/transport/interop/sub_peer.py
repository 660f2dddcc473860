"""Interop peer: a pyzmq SUB listening to our PUB.

usage: sub_peer.py <endpoint> <prefix>...
Subscribes to each prefix and prints one JSON line {"topic", "body_hex"} per message; exits 0 after a
topic ending in ".end", 1 if nothing arrives for 10 s.
"""
import json
import sys

import zmq

ctx = zmq.Context()
sock = ctx.socket(zmq.SUB)
sock.setsockopt(zmq.LINGER, 0)
for prefix in sys.argv[2:]:
    sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
sock.connect(sys.argv[1])
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
while True:
    if not poller.poll(10000):
        print("nothing published for 10 s", file=sys.stderr)
        sys.exit(1)
    topic, *rest = sock.recv_multipart()
    body = rest[0] if rest else b""
    print(json.dumps({"topic": topic.decode(), "body_hex": body.hex(), "frames": 1 + len(rest)}), flush=True)
    if topic.endswith(b".end"):
        break
sock.close()
ctx.term()
