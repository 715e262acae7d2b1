# 参考答案 / reference solution — exercise 12 (sockteach solution 12)
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
            if not data:break  # b'': 对端先关闭了 / the peer closed first
            conn.send(data.upper())
            if data==b'bye':break  # 服务端先关闭 / the server closes first
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()  # 内核发出 FIN，不留下 CLOSE_WAIT / the kernel sends FIN: no CLOSE_WAIT left
phone.close()
