import selectors
from socket import *
sel=selectors.DefaultSelector()  # 一个线程，同时盯着很多套接字 / one thread watching many sockets
phone=socket(AF_INET,SOCK_STREAM)
phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
phone.setblocking(False)
sel.register(phone,selectors.EVENT_READ)
while True:
    for key,mask in sel.select():  # 等到有套接字可读 / wait until some socket is readable
        sock=key.fileobj
        if sock is phone:  # 监听套接字可读：有新连接 / a new connection is waiting
            conn,addr=phone.accept()
            print('客户端的手机号是',addr)
            conn.setblocking(False)
            sel.register(conn,selectors.EVENT_READ)
            continue
        try:
            data=sock.recv(1024)  # 不会阻塞：select 说了有数据 / won't block: select said it is readable
        except ConnectionResetError:
            data=b''
        if not data:  # b'': 对端关闭了连接 / the peer closed
            sel.unregister(sock)
            sock.close()
            continue
        print('客户端发来的消息是',data)
        sock.send(data.upper())
