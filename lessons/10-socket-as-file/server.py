from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
print('SO_REUSEADDR:',phone.getsockopt(SOL_SOCKET,SO_REUSEADDR))
print('SO_RCVBUF:',phone.getsockopt(SOL_SOCKET,SO_RCVBUF))
phone.setsockopt(SOL_SOCKET,SO_RCVBUF,4096)  # 要 4096 字节的接收缓冲区 / ask for 4096 bytes
print('SO_RCVBUF:',phone.getsockopt(SOL_SOCKET,SO_RCVBUF))  # 内核给了多少？/ what did the kernel give?
phone.bind(('127.0.0.1',8081))
phone.listen(5)
print('服务端地址 / server address:',phone.getsockname())
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    print('文件描述符 / fd:',conn.fileno(),'超时 / timeout:',conn.gettimeout())
    print('本端 / local:',conn.getsockname(),'对端 / peer:',conn.getpeername())
    f=conn.makefile('rwb')  # 像文件一样读写这个连接 / read and write the connection like a file
    while True: #通信循环：一行就是一条消息 / communication loop: one line, one message
        line=f.readline()
        if not line:break  # b'': 对端关闭了连接 / the peer closed
        print('客户端发来一行 / a line:',line)
        f.write(line.upper())
        f.flush()  # 把缓冲的字节真正发出去 / really send what is buffered
    f.close()
    conn.close()
phone.close()
