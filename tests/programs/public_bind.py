from socket import *
s = socket(AF_INET, SOCK_STREAM)
s.bind(('', 8081))
print('bound', s.getsockname())
c = socket(AF_INET, SOCK_STREAM)
try:
    c.connect(('192.0.2.1', 80))
except PermissionError as e:
    print('refused:', e)
