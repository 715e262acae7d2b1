from socket import *
udp_client=socket(AF_INET,SOCK_DGRAM)
for i in range(20):  # 20 个数据报，每个 100 字节，带编号 / 20 numbered datagrams of 100 bytes
    data=('%d ' % i).encode('utf-8').ljust(100,b'.')
    udp_client.sendto(data,('127.0.0.1',8081))
print('client====> sent: 20 datagrams')
udp_client.close()
