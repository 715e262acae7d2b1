# Every way close() can end a conversation, each followed by what the peer really saw:
# printed as "case: outcome" lines, so a test can hold the tracer's `wire` against the kernel.
import select
import socket
import struct


def pair():
    lst = socket.socket()
    lst.bind(('127.0.0.1', 0))
    lst.listen(1)
    c = socket.create_connection(lst.getsockname())
    s, _ = lst.accept()
    lst.close()
    return s, c


def outcome(peer):
    peer.settimeout(5)
    try:
        data = peer.recv(1024)
    except ConnectionResetError:
        return 'reset'
    return 'eof' if data == b'' else repr(data)


s, c = pair()
s.close()                                   # nothing unread: FIN
print('fin:', outcome(c))
c.close()

s, c = pair()
c.sendall(b'hello')
select.select([s], [], [], 5)               # the bytes are in s's receive queue
s.close()                                   # unread bytes: RST
print('unread:', outcome(c))
c.close()

s, c = pair()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()                                   # SO_LINGER (1, 0): RST
print('linger:', outcome(c))
c.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0))
u.close()                                   # UDP: nothing to send
print('udp: none')

a, b = socket.socketpair()
a.close()                                   # AF_UNIX: end of file, no segment
print('unix:', outcome(b))
b.close()

a, b = socket.socketpair()
b.sendall(b'x')
select.select([a], [], [], 5)
a.close()                                   # AF_UNIX with unread bytes: the peer is reset
print('unix_unread:', outcome(b))
b.close()

s, c = pair()
f = s.makefile('rb')
s.close()                                   # the file still holds it: nothing happens yet
c.settimeout(0.3)
try:
    c.recv(1)
    print('held: something')
except socket.timeout:
    print('held: nothing')
f.close()                                   # now the socket closes: FIN
print('released:', outcome(c))
c.close()
