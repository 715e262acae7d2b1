# 练习 11：同时服务多个客户端 / Exercise 11: serve several clients at once
# 这是第 3 课的服务端：它在一个客户端的 recv() 里等着的时候，别的客户端只能干等。
# This is lesson 3's server: while it waits in one client's recv(), every other client waits.
# 补完下面的 TODO，然后运行：sockteach check 11
# Fill in the TODOs below, then run: sockteach check 11
from socket import *
# TODO 1: from threading import Thread

# TODO 2: 把通信循环挪进一个函数 talk(conn)，最后 conn.close()
#         move the communication loop into a function talk(conn) that ends with conn.close()

phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    # TODO 3: 为这个连接启动一个线程：Thread(target=talk,args=(conn,),daemon=True).start()
    #         start a thread for this connection: Thread(target=talk,args=(conn,),daemon=True).start()
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()
phone.close()
