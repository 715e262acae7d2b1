# 练习 3：带链接循环的服务端 / Exercise 3: the connection-loop server
# 补完下面的 TODO，然后运行：sockteach check 3
# Fill in the TODOs below, then run: sockteach check 3
from socket import *
phone=socket(AF_INET,SOCK_STREAM)
phone.bind(('127.0.0.1',8081))
phone.listen(5)
# TODO 1: 链接循环：服务完一个客户端，再 accept 下一个
#         connection loop: when one client is done, accept the next
conn,addr=phone.accept()
while True: #通信循环 / communication loop
    # TODO 2: recv 返回 b'' 表示对端关闭了连接：跳出通信循环
    #         recv returning b'' means the peer closed: leave the loop
    # TODO 3: 对端异常断开时 recv 会抛出 ConnectionResetError：也要跳出
    #         an abrupt close makes recv raise ConnectionResetError: leave the loop too
    data=conn.recv(1024)
    conn.send(data.upper())
conn.close()
phone.close()
