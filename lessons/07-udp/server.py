from socket import *
udp_server=socket(AF_INET,SOCK_DGRAM)  # SOCK_DGRAM: UDP，数据报 / UDP, datagrams
udp_server.bind(('127.0.0.1',8081))
# 没有 listen()，也没有 accept() / no listen(), no accept()
input('>>: 回车开始接收 / Enter: start receiving ')  # 先不读 / not reading yet
while True:
    data,addr=udp_server.recvfrom(1024)  # 一次取出一个数据报 / one datagram per call
    print('server===>',data,'from',addr)
    udp_server.sendto(data.upper(),addr)  # 回复发送方 / reply to whoever sent it
