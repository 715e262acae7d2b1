# An IPv6 server bound to the wildcard :: (it would accept IPv4 clients as v4-mapped).
from socket import *
phone=socket(AF_INET6,SOCK_STREAM)
phone.bind(('::',8081))
phone.listen(5)
conn,addr=phone.accept()
print(conn.recv(1024))
