# 练习 5：把数据全部发完的服务端 / Exercise 5: a server that sends all of its data
# 补完下面的 TODO，然后运行：sockteach check 5
# Fill in the TODO below, then run: sockteach check 5
from socket import *
data=b''.join(b'%07d\n' % i for i in range(125000))  # 125,000 行，共 1,000,000 字节 / lines, 1,000,000 bytes
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_SNDBUF,4096)  # 很小的发送缓冲区，请保留 / a tiny send buffer: keep it
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    conn.settimeout(5)  # 客户端太慢就放弃，请保留 / give up on a client that is too slow: keep it
    # TODO: 把 data 全部发给客户端——send() 可能只收下一部分
    #       send ALL of data to the client -- send() may take only part of it
    conn.send(data)
    conn.close()
phone.close()
