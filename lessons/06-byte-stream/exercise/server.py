# 练习 6：分帧的回显服务端 / Exercise 6: a framed echo server
# 每一帧 = 4 字节大端长度前缀 + 数据 / every frame = a 4-byte big-endian length + the data
# 补完下面的 TODO，然后运行：sockteach check 6
# Fill in the TODOs below, then run: sockteach check 6
import struct
from socket import *

def recv_exactly(conn,n):
    # TODO 1: 循环调用 recv，直到正好收到 n 个字节；遇到 b''（对端关闭）就返回 None
    #         call recv in a loop until you have exactly n bytes; return None on b'' (peer closed)
    return conn.recv(n)

phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    while True: #通信循环 / communication loop
        head=recv_exactly(conn,4)
        if not head:break
        size=struct.unpack('>I',head)[0]
        data=recv_exactly(conn,size)
        if data is None:break
        # TODO 2: 回复一帧：data.upper() 的 4 字节长度前缀，后面跟着 data.upper()
        #         answer with one frame: the 4-byte length of data.upper(), then data.upper()
        conn.send(data.upper())
    conn.close()
phone.close()
