# A server whose client leaves at once: the naive communication loop spins on b''.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
client=socket(AF_INET,SOCK_STREAM)
client.connect(('127.0.0.1',8081))
conn,addr=phone.accept()
client.close()
n=0
while n < 100000:
    data=conn.recv(1024)
    n+=1
print('spun', n)
