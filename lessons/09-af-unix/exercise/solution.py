# 参考答案 / reference solution — exercise 9 (sockteach solution 9)
import os,stat
from socket import *
phone=socket(AF_UNIX,SOCK_STREAM)  # 基于文件的套接字家族 / the file-based family
# 删掉残留的套接字文件——只删套接字文件 / remove a stale socket file -- only a socket
if os.path.exists('echo.sock') and stat.S_ISSOCK(os.stat('echo.sock').st_mode):os.unlink('echo.sock')
phone.bind('echo.sock')
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()
phone.close()
