# A selectors echo server (upper case) serving many clients in one thread, as in lesson 11.
import selectors
from socket import *

sel = selectors.DefaultSelector()
phone = socket(AF_INET, SOCK_STREAM)
phone.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
phone.bind(('127.0.0.1', 8081))
phone.listen(5)
sel.register(phone, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is phone:
            conn, addr = phone.accept()
            sel.register(conn, selectors.EVENT_READ)
        else:
            conn = key.fileobj
            data = conn.recv(1024)
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            conn.send(data.upper())
