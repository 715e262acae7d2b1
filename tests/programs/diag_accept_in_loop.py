# accept() inside the communication loop: the second message of a client is never read.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True:
    conn,addr=phone.accept()
    data=conn.recv(1024)
    conn.send(data.upper())
