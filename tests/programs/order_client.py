# Client for the order property: sends each message (hex, comma-separated in argv[1]), reads the
# echo back in full, prints it.
import sys
from socket import *
msgs = [bytes.fromhex(m) for m in sys.argv[1].split(',') if m]
phone = socket(AF_INET, SOCK_STREAM)
phone.connect(('127.0.0.1', 8081))
for m in msgs:
    phone.sendall(m)
    back = b''
    while len(back) < len(m):
        back += phone.recv(8192)
    print('echo', back)
phone.close()
