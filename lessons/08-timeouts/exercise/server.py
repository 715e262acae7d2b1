# 练习 8：断开空闲客户端的服务端 / Exercise 8: a server that drops idle clients
# 这是第 3 课的服务端：一个什么也不发的客户端会让它永远等在 recv() 里。
# This is the lesson 3 server: a client that sends nothing keeps it waiting in recv() for ever.
# 补完下面的 TODO，然后运行：sockteach check 8
# Fill in the TODO below, then run: sockteach check 8
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    # TODO: 客户端 1 秒什么也不发，就关闭这个连接，去服务下一个客户端（见第 8 课）
    #       a client that sends nothing for 1 second: close its connection, serve the next (lesson 8)
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except ConnectionResetError:
            break
    conn.close()
phone.close()
