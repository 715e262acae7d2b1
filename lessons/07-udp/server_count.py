from socket import *
udp_server=socket(AF_INET,SOCK_DGRAM)
udp_server.bind(('127.0.0.1',8081))
print('SO_RCVBUF:',udp_server.getsockopt(SOL_SOCKET,SO_RCVBUF))  # 接收缓冲区的默认大小 / the default receive buffer
udp_server.setsockopt(SOL_SOCKET,SO_RCVBUF,4096)  # 要一个小缓冲区 / ask for a small one
print('SO_RCVBUF:',udp_server.getsockopt(SOL_SOCKET,SO_RCVBUF))  # Linux: 8192（翻倍 / doubled）
input('>>: 回车开始接收 / Enter: start receiving ')  # 先不读 / not reading yet
udp_server.setblocking(False)  # 只取已经到达的，不等 / take what has arrived, do not wait
count=0
last=None
while True:
    try:
        data,addr=udp_server.recvfrom(1024)
    except BlockingIOError:  # 缓冲区空了 / the receive buffer is empty
        break
    count+=1
    last=int(data.split(b' ')[0])
print('server===> arrived:',count,'datagrams; the last one was number',last)
udp_server.close()
