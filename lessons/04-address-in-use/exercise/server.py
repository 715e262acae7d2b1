# 练习 4：可以立刻重启的服务端 / Exercise 4: a server that restarts at once
# 这是第 3 课的服务端。停掉它（客户端还连着），马上再启动：bind() 报错 Address already in use。
# This is the lesson 3 server. Stop it while a client is connected, start it again at once:
# bind() fails with "Address already in use".
# 补完下面的 TODO，然后运行：sockteach check 4
# Fill in the TODO below, then run: sockteach check 4
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
# TODO: 让服务端停掉之后能立刻重启（见第 4 课）
#       let the server start again right after it was stopped (see lesson 4)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    print('电话线路是',conn)
    print('客户端的手机号是',addr)
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            print('客户端发来的消息是',data)
            conn.send(data.upper())
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()
phone.close()
