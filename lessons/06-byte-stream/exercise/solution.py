# 参考答案 / reference solution — exercise 6 (sockteach solution 6)
import struct
from socket import *

def recv_exactly(conn,n):  # 正好收 n 个字节 / receive exactly n bytes
    buf=b''
    while len(buf)<n:
        chunk=conn.recv(min(n-len(buf),1024))
        if not chunk:return None  # b'': 对端关闭了连接 / the peer closed
        buf+=chunk
    return buf

phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    while True: #通信循环 / communication loop
        head=recv_exactly(conn,4)
        if head is None:break
        size=struct.unpack('>I',head)[0]
        data=recv_exactly(conn,size)
        if data is None:break
        reply=data.upper()
        conn.sendall(struct.pack('>I',len(reply))+reply)  # 长度前缀 + 数据 / length prefix + data
    conn.close()
phone.close()
