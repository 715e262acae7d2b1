# Talks once, then stays connected, waiting for the keyboard.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
phone.send(b'first')
print(phone.recv(1024))
input('>>: ')
