# The server side closes first (TIME_WAIT on port 8082), then binds 8082 again: errno 98.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8082))
phone.listen(5)
client=socket(AF_INET,SOCK_STREAM)
client.connect(('127.0.0.1',8082))
conn,addr=phone.accept()
conn.close()       # the server closes first ...
client.close()     # ... then the client: the server's end is in TIME_WAIT
phone.close()
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8082))
