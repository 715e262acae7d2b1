# 练习 7：UDP 大写回显服务端 / Exercise 7: a UDP upper-case echo server
# 补完下面的 TODO，然后运行：sockteach check 7
# Fill in the TODOs below, then run: sockteach check 7
from socket import *
udp_server=socket(AF_INET,SOCK_DGRAM)
udp_server.bind(('127.0.0.1',8081))
# TODO 1: 在循环里：接收一个数据报和发送方的地址（最大 4096 字节）
#         in a loop: receive one datagram and its sender's address (up to 4096 bytes)
# TODO 2: 把它的大写版本发回这个地址——空数据报也要回复一个空数据报
#         send its upper-case version back to that address -- an empty one gets an empty one
udp_server.close()
