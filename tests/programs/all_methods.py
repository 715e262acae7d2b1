# Calls every socket method of the tutorial's table once, on TCP and UDP sockets.
import sys
from socket import *
TCP, UDP = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (8081, 8080)
srv = socket(AF_INET, SOCK_STREAM)
srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
print(srv.getsockopt(SOL_SOCKET, SO_REUSEADDR) != 0)
srv.bind(('127.0.0.1', TCP))
srv.listen(1)
cli = socket(AF_INET, SOCK_STREAM)
cli.settimeout(5)
print(cli.gettimeout())
print(cli.connect_ex(('127.0.0.1', TCP)))
conn, addr = srv.accept()
conn.setblocking(True)
print(conn.getsockname()[1] == cli.getpeername()[1] == TCP, conn.fileno() > 2)
cli.send(b'a')
cli.sendall(b'b')
print(conn.recv(1), conn.recv(1))
f = conn.makefile('rb')
other = socket(AF_INET, SOCK_STREAM)
other.settimeout(2)
try:
    other.connect(('127.0.0.1', TCP))
except OSError as e:
    print('second connect', e.errno)
u1, u2 = socket(AF_INET, SOCK_DGRAM), socket(AF_INET, SOCK_DGRAM)
u1.bind(('127.0.0.1', UDP))
u2.sendto(b'dgram', ('127.0.0.1', UDP))
data, src = u1.recvfrom(100)
print(data)
for s in (f, conn, cli, other, srv, u1, u2):
    s.close()
