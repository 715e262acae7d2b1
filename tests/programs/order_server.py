# Echo server for the order property: prints what it got, sends it back, until the client closes.
from socket import *
phone = socket(AF_INET, SOCK_STREAM)
phone.bind(('127.0.0.1', 8081))
phone.listen(1)
conn, addr = phone.accept()
while True:
    data = conn.recv(8192)
    if not data:
        break
    print('got', data)
    conn.sendall(data)
conn.close()
phone.close()
