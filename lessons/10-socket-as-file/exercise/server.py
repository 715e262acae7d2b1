# 练习 10：按行编号的服务端 / Exercise 10: a server that numbers lines
# 补完下面的 TODO，然后运行：sockteach check 10
# Fill in the TODOs below, then run: sockteach check 10
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    # TODO 1: 把连接包装成文件：f=conn.makefile('rwb')
    #         wrap the connection in a file: f=conn.makefile('rwb')
    n=0  # 这条连接上的行号 / the line number on this connection
    while True: #通信循环 / communication loop
        # TODO 2: 一次读一行（f.readline()），而不是 recv(1024)；读到 b'' 就结束
        #         read one line at a time (f.readline()), not recv(1024); stop at b''
        data=conn.recv(1024)
        if not data:break
        # TODO 3: 每一行回复一行：b'1: HELLO\n'（行号、冒号、空格、大写的这一行），然后 flush()
        #         answer each line with one line: b'1: HELLO\n' (number, colon, space, the line
        #         in upper case), then flush()
        conn.send(data.upper())
    conn.close()
phone.close()
