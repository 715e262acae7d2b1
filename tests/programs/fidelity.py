# Deterministic socket work whose printed results must not change under the tracer.
from socket import *
a, b = socketpair()
print(a.send(b'abc'), b.recv(10), a.gettimeout(), b.fileno() > 2)
a.settimeout(0.01)
try:
    a.recv(1)
except TimeoutError as e:
    print('timeout', repr(e))
s = socket(AF_INET, SOCK_STREAM)
print(s.connect_ex(('127.0.0.1', 1)))
try:
    s.connect(('127.0.0.1', 1))
except ConnectionRefusedError as e:
    print('refused', e.errno)
print(s.getsockopt(SOL_SOCKET, SO_REUSEADDR))
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
print(s.getsockopt(SOL_SOCKET, SO_REUSEADDR) != 0)
f = b.makefile('rb')
a.sendall(b'line\n')
print(f.readline())
s.close(); a.close(); b.close()
