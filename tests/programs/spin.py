# A naive server whose peer leaves at once: recv returns b'' forever.
from socket import *
a, b = socketpair()
b.close()
for i in range(200000):
    data = a.recv(1024)
print('spun', i + 1)
