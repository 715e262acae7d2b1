# 练习 12：好好关闭连接的服务端 / Exercise 12: a server that closes its connections properly
# 这是第 12 课忘了 conn.close() 的服务端：每个离开的客户端都留下一个 CLOSE_WAIT。
# This is lesson 12's server that forgets conn.close(): every client that leaves leaves a CLOSE_WAIT.
# 补完下面的 TODO，然后运行：sockteach check 12
# Fill in the TODOs below, then run: sockteach check 12
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
            # TODO 1: 客户端发来 b'bye'：回复 BYE 之后，由服务端先关闭这条连接
            #         the client sent b'bye': after answering BYE, the server closes first
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    # TODO 2: 关闭本端：对端的 FIN 已经到了，内核在等这个程序 close()
    #         close this end: the peer's FIN has come, the kernel waits for this program to close()
phone.close()
