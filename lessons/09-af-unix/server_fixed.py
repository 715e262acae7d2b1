import os,stat
from socket import *
# 删掉上次留下的套接字文件——只删套接字文件 / remove the socket file a previous run left -- only a socket
if os.path.exists('echo.sock') and stat.S_ISSOCK(os.stat('echo.sock').st_mode):os.unlink('echo.sock')
phone=socket(AF_UNIX,SOCK_STREAM)  # 基于文件的套接字家族 / the file-based family
phone.bind('echo.sock')  # 地址是一个文件路径 / the address is a file path
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    print('电话线路是',conn)
    print('客户端的手机号是',repr(addr))  # AF_UNIX 客户端没有名字 / an AF_UNIX client has no name: ''
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
