from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(1)  # 监听队列：1 / a backlog of 1
input('服务端正忙，按回车开始 accept / busy: press Enter to start accepting ')
while True: #链接循环 / connection loop
    conn,addr=phone.accept()
    print('客户端的手机号是',addr)
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
            if not data:break  # b'': 对端关闭了连接 / the peer closed
            conn.send(data.upper())
        except Exception:  # 例如 ConnectionResetError（连接被重置）
            break
    conn.close()
phone.close()
