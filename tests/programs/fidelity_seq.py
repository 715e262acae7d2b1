# Sends the messages given on the command line (hex, comma-separated) from a client to a
# server in this process, and prints what the server received, what each send returned,
# and the exceptions some wrong calls raise: the same whether traced or not.
import sys
from socket import *
messages = [bytes.fromhex(m) for m in sys.argv[1].split(",")] if sys.argv[1] else []
srv = socket(AF_INET, SOCK_STREAM)
srv.bind(('127.0.0.1', 0))
srv.listen(1)
cli = socket(AF_INET, SOCK_STREAM)
cli.connect(srv.getsockname())
conn, _ = srv.accept()
print([cli.send(m) if i % 2 else cli.sendall(m) for i, m in enumerate(messages)])
cli.close()
received = b''
while True:
    data = conn.recv(7)
    if not data:
        break
    received += data
import hashlib
print(received == b''.join(messages), len(received), hashlib.sha256(received).hexdigest())
for bad in (lambda: conn.send(b'x' * 70000), lambda: cli.recv(1), lambda: srv.bind(('127.0.0.1', 0))):
    try:
        print('ok', bad())
    except Exception as exc:
        print(type(exc).__name__, getattr(exc, 'errno', None))
conn.close()
srv.close()
