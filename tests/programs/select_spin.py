# A selectors server whose handler never checks for b'': once the client leaves it spins
# through epoll, recv and send without end (stopped after 3000 rounds).
import selectors
from socket import *
sel = selectors.DefaultSelector()
phone = socket(AF_INET, SOCK_STREAM)
phone.bind(('127.0.0.1', 8081)); phone.listen(5)
sel.register(phone, selectors.EVENT_READ)
n = 0
while n < 3000:
    for key, _ in sel.select():
        if key.fileobj is phone:
            conn, addr = phone.accept()
            sel.register(conn, selectors.EVENT_READ)
        else:
            data = key.fileobj.recv(1024)   # the bug: no check for b''
            key.fileobj.send(data.upper())
            n += 1
