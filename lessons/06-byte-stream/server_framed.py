import struct
from socket import *

def recv_exactly(conn,n):  # 正好收 n 个字节 / receive exactly n bytes
    buf=b''
    while len(buf)<n:
        chunk=conn.recv(min(n-len(buf),1024))  # 每次最多 1024 / at most 1024 at a time
        if not chunk:return None  # b'': 对端关闭了连接 / the peer closed
        buf+=chunk
    return buf

phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
conn,addr=phone.accept()
input('>>: 回车开始接收 / Enter: start reading ')  # 先不读 / not reading yet
while True: #通信循环 / communication loop
    head=recv_exactly(conn,4)  # 4 字节的长度前缀 / the 4-byte length prefix
    if head is None:break
    size=struct.unpack('>I',head)[0]
    data=recv_exactly(conn,size)  # 然后正好 size 个字节 / then exactly size bytes
    if data is None:break
    print('server===> 一条消息 / one message,',size,'bytes:',data[:20])
conn.close()
phone.close()
