# 练习 2：跳过空行的客户端 / Exercise 2: a client that skips empty lines
# 补完下面的 TODO，然后运行：sockteach check 2
# Fill in the TODOs below, then run: sockteach check 2
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.connect(('127.0.0.1',8081))
while True:
    msg=input('>>: ').strip()
    # TODO 1: 空行不要发送，重新 input
    #         an empty line must not be sent: ask again
    # TODO 2: 把 msg 编码成 bytes，发给服务端
    #         send msg, encoded to bytes, to the server
    # TODO 3: 接收服务端的回复，打印出来
    #         receive the server's reply and print it
