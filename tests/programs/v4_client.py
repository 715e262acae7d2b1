# An IPv4 client of port 8081.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
phone.send(b'hi')
