# 参考答案 / reference solution — exercise 10 (sockteach solution 10)
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    f=conn.makefile('rwb')  # 像文件一样读写 / read and write it like a file
    n=0  # 这条连接上的行号 / the line number on this connection
    while True: #通信循环：一行一条消息 / communication loop: one line, one message
        line=f.readline()
        if not line:break  # b'': 对端关闭了连接 / the peer closed
        n+=1
        f.write(('%d: '%n).encode('utf-8')+line.upper())
        f.flush()
    f.close()
    conn.close()
phone.close()
