# Prints around socket calls: the lines must sit between those calls in the event stream.
from socket import *
a, b = socketpair()
print('before send')
a.send(b'ping')
print('between')
print(b.recv(10))
print('server===>')
b.recv(10)          # blocks until the test sends: the line above must come before this call
