from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    input('>>: 回车开始接收 / Enter: start reading ')  # 先不读 / not reading yet
    total=0
    while True: #通信循环 / communication loop
        data=conn.recv(65536)
        if not data:break  # b'': 对端关闭了连接 / the peer closed
        total+=len(data)
    print('server===> 一共收到 / received in all:',total,'bytes')
    conn.close()
phone.close()
