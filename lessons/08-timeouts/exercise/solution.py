# 参考答案 / reference solution — exercise 8 (sockteach solution 8)
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    conn.settimeout(1)  # 空闲超过 1 秒就断开 / drop a client idle for 1 s
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except TimeoutError:  # 1 秒内没有数据 / no data within 1 s
            print('server===> 客户端空闲太久，断开 / idle client: closing')
            break
        except ConnectionResetError:
            break
    conn.close()
phone.close()
