from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
conn,addr=phone.accept()
input('>>: 回车开始接收 / Enter: start reading ')  # 先不读 / not reading yet
while True: #通信循环 / communication loop
    data=conn.recv(1024)
    if not data:break  # b'': 对端关闭了连接 / the peer closed
    print('server===> recv() 返回 / returned',len(data),'bytes:',data[:20])
conn.close()
phone.close()
