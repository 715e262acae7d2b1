# 练习 1：大写回显服务端 / Exercise 1: an upper-case echo server
# 补完下面的 TODO，然后运行：sockteach check 1
# Fill in the TODOs below, then run: sockteach check 1
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
# TODO 1: 开始监听 / start listening

# TODO 2: 等待一个客户端连上来 / wait for a client to connect: conn,addr=...

# TODO 3: 在循环里：接收一条消息，把它的大写版本发回去
#         in a loop: receive a message and send back its upper-case version

phone.close()
