# Reads one line with makefile().readline() and answers it.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
conn,addr=phone.accept()
line=conn.makefile('rb').readline()
conn.sendall(line.upper())
