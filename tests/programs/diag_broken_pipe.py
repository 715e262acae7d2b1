# The client leaves; the server keeps sending to it: BrokenPipeError.
import time
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
client=socket(AF_INET,SOCK_STREAM)
client.connect(('127.0.0.1',8081))
conn,addr=phone.accept()
client.close()
while True:
    conn.send(b'are you there?')
    time.sleep(0.01)
