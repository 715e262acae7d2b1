# 参考答案 / reference solution — exercise 7 (sockteach solution 7)
from socket import *
udp_server=socket(AF_INET,SOCK_DGRAM)
udp_server.bind(('127.0.0.1',8081))
while True:
    data,addr=udp_server.recvfrom(65535)  # 一次一个数据报，不截断 / one whole datagram per call
    print('server===>',data,'from',addr)
    udp_server.sendto(data.upper(),addr)  # b'' 也回复 / b'' is answered too
