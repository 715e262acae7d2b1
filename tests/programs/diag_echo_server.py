# A one-client upper-case echo server, the tutorial's way (no check for b'').
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
conn,addr=phone.accept()
while True:
    data=conn.recv(1024)
    conn.send(data.upper())
