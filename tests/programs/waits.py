# select, poll, epoll and selectors over one socket pair: each wait is reported.
import select
import selectors
from socket import *
a, b = socketpair()
b.send(b'x')
print(select.select([a], [], [], 5)[0] == [a])
p = select.poll()
p.register(a, select.POLLIN)
print(p.poll(5000))
e = select.epoll()
e.register(a.fileno(), select.EPOLLIN)
print(e.poll(5))
sel = selectors.DefaultSelector()
sel.register(a, selectors.EVENT_READ)
print(len(sel.select(5)))
a.recv(1)
print(select.select([a], [], [], 0.2))   # nothing ready: it waits 0.2 s and times out
