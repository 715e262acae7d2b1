from socket import *
udp_client=socket(AF_INET,SOCK_DGRAM)
# 没有 connect()：每个数据报都带着目的地址 / no connect(): each datagram carries its address
udp_client.sendto('hello'.encode('utf-8'),('127.0.0.1',8081))
udp_client.sendto('world'.encode('utf-8'),('127.0.0.1',8081))
udp_client.sendto(''.encode('utf-8'),('127.0.0.1',8081))  # 一个空数据报 / an empty datagram
for i in range(3):
    data,addr=udp_client.recvfrom(1024)
    print('client====>',data)
udp_client.close()
