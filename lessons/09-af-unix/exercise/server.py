# 练习 9：AF_UNIX 大写回显服务端 / Exercise 9: an AF_UNIX upper-case echo server
# 补完下面的 TODO，然后运行：sockteach check 9
# Fill in the TODOs below, then run: sockteach check 9
from socket import *
# TODO 1: 用基于文件的套接字家族 AF_UNIX，而不是 AF_INET
#         use the file-based family, AF_UNIX, instead of AF_INET
phone=socket(AF_INET,SOCK_STREAM)
# TODO 2: 上一次运行留下的 echo.sock 会让 bind() 失败：如果它存在，先删掉它
#         an echo.sock left by the previous run makes bind() fail: if it exists, remove it first
# TODO 3: 绑定到路径 'echo.sock'，而不是 (IP, 端口)
#         bind to the path 'echo.sock' instead of (ip, port)
phone.bind(('127.0.0.1',8081))
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
