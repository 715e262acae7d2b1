# 参考答案 / reference solution — exercise 11 (sockteach solution 11)
from socket import *
from threading import Thread
def talk(conn):  #通信循环，每个客户端一个线程 / communication loop, one thread per client
    while True:
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环：只管 accept / connection loop: it only accepts
    conn,addr=phone.accept()
    Thread(target=talk,args=(conn,),daemon=True).start()
phone.close()
