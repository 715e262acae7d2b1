# Binds port 8081 while its own listener still holds it: errno 98 from a running listener.
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
again=socket(AF_INET,SOCK_STREAM)
try:
    again.bind(('127.0.0.1',8081))
except OSError as exc:
    print(exc)
conn,addr=phone.accept()  # the first listener stays
