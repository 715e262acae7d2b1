# A server that listens on port 8080 (not 8081) and waits.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8080))
phone.listen(5)
conn,addr=phone.accept()
