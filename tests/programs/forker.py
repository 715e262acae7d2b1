# Starts a child and a grandchild that escapes the process group, then waits forever.
import os, time
from socket import *
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        s = socket(AF_INET, SOCK_STREAM)   # traced in the grandchild too
        s.close()
        while True:
            time.sleep(1)
    while True:
        time.sleep(1)
s = socket(AF_INET, SOCK_STREAM)
s.bind(('127.0.0.1', 8081))
s.listen(1)
s.accept()
