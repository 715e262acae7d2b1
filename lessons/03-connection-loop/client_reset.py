# 一个重置连接的客户端：关闭时发送 RST（连接被重置），而不是正常的 FIN。
# A client that resets: its close sends a reset (RST) instead of the polite FIN.
# (A crashed client closes with FIN on Linux; RST comes from SO_LINGER (1, 0) or from
# closing with unread data in the receive queue.)
import struct
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
phone.send('ping'.encode('utf-8'))
print('client====>')
data=phone.recv(1024)
print(data)
# SO_LINGER 开启且超时为 0：close() 立即丢弃连接并发送 RST / linger on, 0 s: close() sends RST
phone.setsockopt(SOL_SOCKET,SO_LINGER,struct.pack('ii',1,0))
phone.close()
