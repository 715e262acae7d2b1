# The client leaves with a reset (SO_LINGER 0); the server's recv raises ConnectionResetError.
import struct
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
client=socket(AF_INET,SOCK_STREAM)
client.connect(('127.0.0.1',8081))
conn,addr=phone.accept()
client.setsockopt(SOL_SOCKET,SO_LINGER,struct.pack('ii',1,0))
client.close()
data=conn.recv(1024)
