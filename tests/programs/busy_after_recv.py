# recv returns at once, then the program computes for a while without any socket call.
import time
from socket import *
a, b = socketpair()
a.send(b'x')
print(b.recv(1))
end = time.monotonic() + 3
while time.monotonic() < end:
    pass
