"""Echo round trips between two processes, for the tracer-cost benchmark.

``python echo_pair.py server PORT`` echoes; ``python echo_pair.py client PORT N`` makes N round
trips and prints the rate. Run each plainly or under sockteach's tracer.
"""

import sys
import time
from socket import *

role, port = sys.argv[1], int(sys.argv[2])
if role == "server":
    s = socket(AF_INET, SOCK_STREAM)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    print("ready", flush=True)
    conn, _ = s.accept()
    conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    while True:
        data = conn.recv(64)
        if not data:
            break
        conn.send(data)
else:
    n = int(sys.argv[3])
    c = socket(AF_INET, SOCK_STREAM)
    c.connect(("127.0.0.1", port))
    c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    start = time.perf_counter()
    for _ in range(n):
        c.send(b"ping")
        c.recv(64)
    elapsed = time.perf_counter() - start
    c.close()
    print(f"{n / elapsed:.1f}")
