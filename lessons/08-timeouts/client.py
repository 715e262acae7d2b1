from socket import *
phone=socket(AF_INET,SOCK_STREAM)
err=phone.connect_ex(('127.0.0.1',8080))  # 8080：没有人在监听 / nobody listens on 8080
print('client====> connect_ex 8080:',err)  # 111 = ECONNREFUSED，不抛出异常 / an error code, no exception
phone.close()
phone=socket(AF_INET,SOCK_STREAM)
err=phone.connect_ex(('127.0.0.1',8081))
print('client====> connect_ex 8081:',err)  # 0：连上了 / connected
phone.setblocking(False)  # 非阻塞 / non-blocking
try:
    data=phone.recv(1024)
except BlockingIOError:  # 没有数据也不等 / no data, and it does not wait
    print('client====> 还没有数据 / no data yet')
phone.setblocking(True)  # 恢复阻塞 / blocking again
while True:
    msg=input('>>: ').strip()
    if not msg:continue
    phone.send(msg.encode('utf-8'))
    data=phone.recv(1024)
    if not data:  # b'': 服务端关闭了连接 / the server closed the connection
        print('client====> 服务端断开了连接 / the server closed the connection')
        break
    print(data)
phone.close()
