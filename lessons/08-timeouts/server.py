from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
phone.settimeout(0.5)  # accept() 最多等 0.5 秒 / accept() waits at most 0.5 s
print('server===> timeout:',phone.gettimeout())
while True: #链接循环 / connection loop
    try:
        conn,addr=phone.accept()
    except TimeoutError:  # 即 socket.timeout / the same as socket.timeout
        print('server===> 0.5 秒内没有客户端 / no client within 0.5 s')
        continue
    conn.settimeout(1)  # 空闲超过 1 秒就断开 / drop a client idle for 1 s
    while True: #通信循环 / communication loop
        try:
            data=conn.recv(1024)
        except TimeoutError:
            print('server===> 客户端空闲太久，断开 / idle client: closing')
            break
        if not data:break  # b'': 对端关闭了连接 / the peer closed
        conn.send(data.upper())
    conn.close()
phone.close()
