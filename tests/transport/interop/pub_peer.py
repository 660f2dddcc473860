"""Interop peer: a pyzmq PUB our SUB listens to.

usage: pub_peer.py <endpoint>
Binds, prints "ready", publishes [b"evt.sync", b""] every 10 ms until a line "go" arrives on stdin (the
subscriber has joined), then publishes a fixed sequence ending in "evt.end" and exits 0 when stdin closes.
"""
import select
import sys

import zmq

ctx = zmq.Context()
sock = ctx.socket(zmq.PUB)
sock.setsockopt(zmq.LINGER, 1000)
sock.bind(sys.argv[1])
print("ready", flush=True)
while True:
    sock.send_multipart([b"evt.sync", b""])
    readable, _, _ = select.select([sys.stdin], [], [], 0.01)
    if readable and sys.stdin.readline().strip() == "go":
        break
for frames in (
    [b"evt.one", b"1"],
    [b"other.two", b"2"],
    [b"evt.binary", bytes(range(256))],
    [b"evtx.three", b"3"],
    [b"evt.empty", b""],
    [b"evt.multi", b"body", b"extra-frame"],
    [b"evt.end", b"done"],
):
    sock.send_multipart(frames)
sys.stdin.read()
sock.close()
ctx.term()
