# Sends two messages on one connection, reading the answer to each.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
for msg in (b'hello', b'again'):
    phone.send(msg)
    print(phone.recv(1024))
