# Sends hello, reads the answer, then sends an empty message and waits for its answer.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
phone.send(b'hello')
print(phone.recv(1024))
phone.send(b'')
print(phone.recv(1024))
